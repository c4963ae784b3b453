"""Revenue forecasts, unit economics and what-if analysis.

* :func:`expected_path`, :func:`forecast`: the exact expected-value path per day, week or month,
  beside the simulation's mean and band.
* :func:`unit_economics`, :func:`decompose`: the marketer's metrics with their formulas, and a
  change in revenue or profit split over its factors.
* :class:`Scenario`, :class:`Base`, :func:`grid`, the changes in :mod:`.changes`,
  :func:`compare_scenarios`, :func:`edge_change_interval`: what-if analysis.
* :func:`sensitivity`, :func:`goal_seek`: which improvement is worth most, and how much of it a
  goal needs; :func:`optimize_strategy`: the most profitable trigger settings under a message
  budget or a minimum margin.
"""

from funnelkit.forecasting.base import Base
from funnelkit.forecasting.compare import ScenarioComparison, compare_scenarios
from funnelkit.forecasting.edge_interval import EdgeChangeInterval, edge_change_interval
from funnelkit.forecasting.forecast import Forecast, forecast
from funnelkit.forecasting.goal_seek import GoalResult, GoalSeekError, InfeasibleGoalError, goal_seek
from funnelkit.forecasting.optimize import InfeasibleStrategyError, Optimization, OptimizationError, optimize_strategy
from funnelkit.forecasting.path import expected_path
from funnelkit.forecasting.scenario import Scenario, grid
from funnelkit.forecasting.sensitivity import Parameter, Sensitivity, parameters, sensitivity
from funnelkit.forecasting.unit_economics import UnitEconomics, decompose, unit_economics

__all__ = [
    "Base",
    "EdgeChangeInterval",
    "Forecast",
    "GoalResult",
    "GoalSeekError",
    "InfeasibleGoalError",
    "InfeasibleStrategyError",
    "Optimization",
    "OptimizationError",
    "Parameter",
    "Scenario",
    "ScenarioComparison",
    "Sensitivity",
    "UnitEconomics",
    "compare_scenarios",
    "decompose",
    "edge_change_interval",
    "expected_path",
    "forecast",
    "goal_seek",
    "grid",
    "optimize_strategy",
    "parameters",
    "sensitivity",
    "unit_economics",
]
