"""The window's actions: the action table, the menus built from it, held keys."""
