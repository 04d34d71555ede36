"""Entry point for ``python -m asst_deploy``."""

from asst_deploy.cli import main

if __name__ == "__main__":
    main()
