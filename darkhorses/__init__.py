"""DarkHorses platform glue: connection settings, local infrastructure, migrations and the CLI."""
