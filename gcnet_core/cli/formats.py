"""``gcnet import`` and ``gcnet export``: labels in and out of a project (:mod:`gcnet_core.formats`)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..formats.export import corrected_images, export_images, mark_exported
from ..formats.importing import ImportReport
from ..formats.label_import import guess_format, plan_import, run_import
from ..formats.registry import export_formats, import_format, import_formats
from ..model.classes import ClassSet
from ..project.class_mapping import parse_pairs, read_mapping_file
from ..project.store import PROJECT_FILE, Project, ProjectError


def add_format_commands(subparsers) -> None:
    """Register ``gcnet import`` and ``gcnet export`` on the ``gcnet`` sub-command parser."""
    sub = subparsers.add_parser("import", help="import existing labels into a project (VOC, Cityscapes, ADE20K, "
                                               "COCO, labelme, PNG folder)")
    sub.add_argument("--project", required=True, metavar="DIR",
                     help="the annotation project folder (the image folder; created when it has no project yet)")
    sub.add_argument("--format", choices=[fmt.name for fmt in import_formats()],
                     help="the source's layout (default: guessed from it)")
    sub.add_argument("--split", metavar="NAME",
                     help="only this split (VOC: ImageSets/Segmentation/NAME.txt; Cityscapes: gtFine/NAME; "
                          "ADE20K: annotations/NAME; COCO: annotations/instances_NAME.json)")
    sub.add_argument("--classes", metavar="FILE", help="png: the class list, one name per line "
                                                       "(default: SOURCE/classes.txt)")
    sub.add_argument("--add-classes", action="store_true",
                     help="add class names the project lacks as new classes (default: stop and name them)")
    sub.add_argument("--map", action="append", default=[], metavar="NAME=TARGET",
                     help="the source's class NAME becomes TARGET: a project class, a new class's name, "
                          "'unlabelled' (no class, left for a model) or 'ignore' (no class, kept out of "
                          "training); repeatable, wins over --map-file")
    sub.add_argument("--map-file", metavar="FILE",
                     help="class mapping: a JSON object {\"name\": \"target\"} or NAME=TARGET lines")
    sub.add_argument("--replace", action="store_true",
                     help="also replace labels of images a person edited or marked done (the old files are backed up)")
    sub.add_argument("--quiet", action="store_true", help="no per-file output")
    sub.add_argument("source", metavar="SOURCE", help="the dataset folder, label folder or COCO JSON file")
    sub.set_defaults(func=cmd_import)

    export = subparsers.add_parser("export", help="export a project's masks (PNG, Cityscapes, ADE20K, VOC, COCO, "
                                                  "labelme...)")
    export.add_argument("--project", required=True, metavar="DIR", help="the annotation project folder")
    export.add_argument("--format", required=True, choices=[fmt.name for fmt in export_formats()])
    export.add_argument("--out", required=True, metavar="DIR")
    export.add_argument("--split", default="train",
                        help="split of the dataset layouts (VOC split file, Cityscapes gtFine/SPLIT, "
                             "ADE20K train -> training, val -> validation)")
    export.add_argument("--with-images", action="store_true",
                        help="cityscapes: also copy the images as leftImg8bit/SPLIT/CITY/*_leftImg8bit.png")
    export.add_argument("--labelme-shapes", choices=("mask", "polygon"), default="mask",
                        help="labelme: one mask shape per class (exact, default) or polygons from the "
                             "mask's outer contours (holes filled)")
    export.add_argument("--coco-layout", choices=("dataset", "file"), default="dataset",
                        help="coco: annotations/instances_SPLIT.json with the images in images/SPLIT/ "
                             "(default, what datumaro and CVAT read) or one annotations.json")
    export.add_argument("--cityscapes-kinds", choices=("all", "official"), default="all",
                        help="cityscapes: all four kinds (default; mmseg reads labelTrainIds) or the official "
                             "labelIds, color and instanceIds only (what datumaro reads)")
    export.add_argument("--quiet", action="store_true", help="no per-image output")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--all-corrected", action="store_true",
                       help="every image marked done in the app (corrected, or already exported)")
    which.add_argument("images", nargs="*", default=[], metavar="IMAGE",
                       help="images (paths, or paths relative to the project)")
    export.set_defaults(func=cmd_export)


def _open_project(root: Path, create: bool):
    if not (root / PROJECT_FILE).is_file():
        if not create:
            print(f"error: {root} is not an annotation project (no {PROJECT_FILE})", file=sys.stderr)
            return None
        if not root.is_dir():
            print(f"error: project folder {root} does not exist", file=sys.stderr)
            return None
        return Project.create(root, ClassSet((), ()))
    try:
        return Project.open(root)
    except ProjectError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def cmd_import(args) -> int:
    fmt = args.format or guess_format(args.source)
    if fmt is None:
        print(f"error: cannot tell the layout of {args.source}; give --format", file=sys.stderr)
        return 2
    if args.split and not import_format(fmt).split:
        print(f"error: the {fmt} layout has no splits; --split {args.split} cannot apply", file=sys.stderr)
        return 2
    new = not (Path(args.project) / PROJECT_FILE).is_file()
    project = _open_project(Path(args.project), create=True)
    if project is None:
        return 2
    try:
        return _import_into(project, fmt, args)
    finally:
        if new and not project.label_files():  # nothing came in: the folder is left as it was
            _remove_new_project(project)


def _remove_new_project(project: Project) -> None:
    """Take back the project file an import created (and its empty data folder)."""
    project.path.unlink(missing_ok=True)
    try:
        project.data_root.rmdir()
    except OSError:  # not there, or holds something
        pass


def _import_into(project: Project, fmt: str, args) -> int:
    def progress(done: int, total: int, path: Path) -> None:
        if not args.quiet:
            print(f"[{done}/{total}] {path}", file=sys.stderr)

    try:
        chosen = {**(read_mapping_file(args.map_file) if args.map_file else {}), **parse_pairs(args.map)}
        plan = plan_import(project, fmt, args.source, split=args.split, class_list=args.classes,
                           add_unknown=args.add_classes, chosen=chosen)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not plan.found:  # before the class table: a table alone (ADE20K's 150 names) is not labels
        print(f"imported 0 label file(s) ({fmt}) into {project.root}")
        print(f"  nothing to import: no {fmt} label files found in {args.source}", file=sys.stderr)
        return 1
    if not args.quiet:  # what the rule decided beyond same names, before anything is written
        for name, target in plan.mapping.targets.items():
            if plan.mapping.reasons[name] != "same name":
                print(f"class {name!r} -> {target!r} ({plan.mapping.reasons[name]})", file=sys.stderr)
    for name in sorted(chosen.keys() - set(plan.mapping.names)):
        print(f"note: --map {name}=...: the source's class table has no {name!r}", file=sys.stderr)
    if plan.mapping.undecided:
        names = ", ".join(repr(name) for name in plan.mapping.undecided)
        print(f"error: the source's class(es) {names} are not classes of the project; nothing was imported. "
              f"Give --add-classes to add them as new classes, or --map NAME=TARGET for each (TARGET: a "
              f"project class, a new name, 'unlabelled' or 'ignore'), or --map-file FILE", file=sys.stderr)
        return 1
    report: ImportReport = run_import(project, plan, add_unknown=args.add_classes, replace=args.replace,
                                      progress=progress)
    project.save()
    lines = report.lines()
    print(f"{lines[0]} ({fmt}) into {project.root}")
    for line in lines[1:]:
        print(f"  {line}", file=sys.stderr)
    if report.unknown_classes:
        print("  give --add-classes, or --map NAME=TARGET, to import the files with unknown classes",
              file=sys.stderr)
    return 0 if report.complete else 1


def cmd_export(args) -> int:
    project = _open_project(Path(args.project), create=False)
    if project is None:
        return 2
    images = corrected_images(project) if args.all_corrected else [Path(p) for p in args.images]
    if not images:
        print("nothing to export: no corrected images", file=sys.stderr)
        return 0

    def progress(done: int, total: int, image: Path) -> None:
        if not args.quiet:
            try:
                shown = project.relative(image)
            except ValueError:  # not in the project: the report says so
                shown = str(image)
            print(f"[{done}/{total}] {shown}", file=sys.stderr)

    try:
        report = export_images(project, images, args.format, args.out, progress=progress, split=args.split,
                               with_images=args.with_images, labelme_shapes=args.labelme_shapes,
                               coco_layout=args.coco_layout, cityscapes_kinds=args.cityscapes_kinds)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    marked = mark_exported(project, report.written)
    print(f"{len(report.written)} image(s) exported as {args.format} to {report.out}"
          + (f"; {marked} marked exported" if marked else ""))
    for path, message in report.failed:
        print(f"  failed: {path}: {message}", file=sys.stderr)
    return 1 if report.failed else 0
