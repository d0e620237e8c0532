"""Print the JSON Schema of a request task: ``python -m api_schema [taskType]``."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .tasks import TASK_MODELS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m api_schema",
        description="Print the JSON Schema of a Runware task for GLM-Image.",
    )
    parser.add_argument(
        "task_type",
        nargs="?",
        default="imageInference",
        choices=sorted(TASK_MODELS),
        help="which task's schema to print (default: imageInference)",
    )
    args = parser.parse_args(argv)
    schema = TASK_MODELS[args.task_type].model_json_schema(by_alias=True)
    try:
        json.dump(schema, sys.stdout, indent=2)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped early (`| head`): not worth a traceback. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
