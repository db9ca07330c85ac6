"""Where Switchboard keeps its config file and its data. Cheap to import."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "switchboard"
CONFIG_ENV = "SWITCHBOARD_CONFIG"
DATA_DIR_ENV = "SWITCHBOARD_DATA_DIR"
#: beside the config file: provider plugins (`plugins_dir` in the config overrides it)
PLUGINS_FOLDER = "providers"


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--config, else $SWITCHBOARD_CONFIG, else the user config dir."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_plugins_dir(config_file: Path) -> Path:
    """`<config dir>/providers/`: the folder of the config file in use."""
    return config_file.parent / PLUGINS_FOLDER


def data_dir() -> Path:
    """$SWITCHBOARD_DATA_DIR, else the user data dir (not created here)."""
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))
