"""litert backend for Huawei Ascend NPUs (CANN / AscendCL)."""
