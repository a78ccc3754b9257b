"""`kubectl playout`, the kubectl plugin: `plugin` (the command, the API calls) over `views`
(what it prints, pure)."""
