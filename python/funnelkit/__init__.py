from funnelkit._core import *
