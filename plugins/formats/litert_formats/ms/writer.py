"""Placeholder, replaced below."""
from litert.formats import Serializer


class MsSerializer(Serializer):
    name = "ms"
    extensions = (".ms",)

    def save(self, model, path):
        raise NotImplementedError
