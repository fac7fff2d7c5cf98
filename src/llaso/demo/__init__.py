"""The demo the README's first command runs: llaso-tiny on committed clips, every layout."""
