"""The web tests' project: it serves two small pipelines."""
from web_flows import gated, shapes

from durapipe import Definitions

defs = Definitions(pipelines=[shapes, gated])
