"""The layer that ``simulate`` and ``theory`` share: argument checks and the command-line
parser.  It imports neither package, so the simulation (the yardstick) never depends on the
theory it measures.
"""
