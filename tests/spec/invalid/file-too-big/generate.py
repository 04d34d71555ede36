"""Make knowledge/big.txt one byte over the API's file size limit (sparse: no disk used)."""

from pathlib import Path

from asst_deploy import limits

Path("knowledge").mkdir()
with open("knowledge/big.txt", "wb") as f:
    f.truncate(limits.FILE_SIZE_MAX + 1)
