"""Make knowledge/big.bin one byte over the API's file size limit (sparse: no disk used)."""

from pathlib import Path

from asst_deploy import limits

Path("knowledge").mkdir()
with open("knowledge/big.bin", "wb") as f:
    f.truncate(limits.FILE_SIZE_MAX + 1)
