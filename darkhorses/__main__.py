from darkhorses.cli import app

app(prog_name="darkhorses")
