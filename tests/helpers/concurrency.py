"""Calling a function from several threads at once, for the tests of concurrent ``run()``/``predict()``."""
from __future__ import annotations

import threading
from collections.abc import Callable


def run_in_threads(fn: Callable[[int], None], count: int) -> None:
    """Call ``fn(0)`` ... ``fn(count - 1)`` each on its own thread, all started before any is joined; then raise
    the first exception a thread hit (an assertion inside ``fn`` fails the test as in the main thread)."""
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            fn(i)
        except BaseException as err:  # noqa: BLE001  (re-raised by the calling thread)
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
