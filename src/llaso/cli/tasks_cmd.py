"""`llaso tasks`: the task registry (LLaSO's 20 tasks and llaso-mini's additions)."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tasks", help="list the tasks, their layouts, metrics and labels",
                                   description=__doc__)
    parser.add_argument("code", nargs="?", help="show one task in full (with its instruction templates)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--task-file", help="also register tasks from this JSON file")
    parser.set_defaults(handler=_tasks)


def _row(task) -> dict:
    return {"code": task.code, "name": task.name, "category": task.category,
            "layouts": list(task.layouts), "metric": task.metric,
            "labels": list(task.labels) if task.labels else None,
            "templates": len(task.templates), "official": task.official}


def _tasks(args: argparse.Namespace) -> int:
    from llaso.data.tasks import all_tasks, get_task, load_task_file

    if args.task_file:
        load_task_file(args.task_file)
    if args.code:
        task = get_task(args.code)
        row = _row(task) | {"description": task.description, "templates": list(task.templates)}
        if args.json:
            print(json.dumps(row, indent=2, ensure_ascii=False))
        else:
            for key, value in row.items():
                if key == "templates":
                    print("templates:")
                    for template in value:
                        print(f"  - {template}")
                else:
                    print(f"{key}: {value}")
        return 0
    rows = [_row(task) for task in all_tasks()]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"{'code':<5} {'category':<15} {'layouts':<14} {'metric':<9} {'tmpl':>4}  name / labels")
    for row in rows:
        labels = ", ".join(row["labels"]) if row["labels"] else "open"
        if len(labels) > 60:
            labels = labels[:57] + "..."
        marker = "" if row["official"] else " (llaso-mini)"
        print(f"{row['code']:<5} {row['category']:<15} {' '.join(row['layouts']):<14} "
              f"{row['metric']:<9} {row['templates']:>4}  {row['name']}{marker} [{labels}]")
    return 0
