"""The board: the Textual face of orchestrate. The only part of app/ that imports Textual.

app.py is the App (served.py: a browser tab's); screens/ holds its screens, jobs/ the
work the main screen hands out (each job knowing the screen only as a Protocol of its
own), dialogs/ the modal screens; bridge.py, keys.py and gc.py are shared by all of them.
docs/board.md describes the modules.
"""
