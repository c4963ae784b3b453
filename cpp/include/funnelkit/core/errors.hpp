#pragma once
/// \file Error type shared by every area of the engine.
///
/// Each failure carries a kind (which the Python layer maps onto a funnelkit exception class of
/// the same name) and the subject at fault (a stage name, an edge "a -> b", a JSON path), so that
/// a user sees *what* is wrong, not only that something is.

#include <stdexcept>
#include <string>

namespace funnelkit {

enum class ErrorKind {
  Format,               ///< malformed JSON or a document that does not follow the schema
  SchemaVersion,        ///< a document written by an unknown schema version
  EmptyFunnel,          ///< no stages
  UnknownStage,         ///< a reference to a stage that does not exist
  DuplicateStage,       ///< two stages with one name
  DuplicateEdge,        ///< two edges between the same stages
  Probability,          ///< NaN, negative or > 1 probability, bad entry weights
  RowSum,               ///< outgoing probabilities of a stage sum above 1 (or below 1 when strict)
  NoExit,               ///< a transient stage that can never reach an absorbing stage
  Structure,            ///< other structural misuse (edge out of an absorbing stage, ...)
  Distribution,         ///< invalid distribution parameters or arguments
  UnknownDistribution,  ///< a distribution type that is neither built in nor registered
  Convergence,          ///< an iterative solve did not reach its tolerance
  MissingFeature,       ///< a scorer's feature column is not in the feature table
  FeatureValue,         ///< NaN or infinite feature values
  Label,                ///< training labels not 0/1, of one class, or of another length
  ScorerFormat,         ///< a scorer document of another format or version
  Strategy,             ///< a trigger strategy, campaign or traffic plan the simulation cannot run
};

/// Python class name (in funnelkit.errors) for each kind.
[[nodiscard]] const char* error_class_name(ErrorKind kind) noexcept;

class FunnelError : public std::invalid_argument {
 public:
  FunnelError(ErrorKind kind, const std::string& message, std::string subject = {})
      : std::invalid_argument(message), kind_(kind), subject_(std::move(subject)) {}

  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  /// The stage, edge or document path at fault; empty when the error is about the whole funnel.
  [[nodiscard]] const std::string& subject() const noexcept { return subject_; }

 private:
  ErrorKind kind_;
  std::string subject_;
};

inline const char* error_class_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::Format: return "FunnelFormatError";
    case ErrorKind::SchemaVersion: return "SchemaVersionError";
    case ErrorKind::EmptyFunnel: return "EmptyFunnelError";
    case ErrorKind::UnknownStage: return "UnknownStageError";
    case ErrorKind::DuplicateStage: return "DuplicateStageError";
    case ErrorKind::DuplicateEdge: return "DuplicateEdgeError";
    case ErrorKind::Probability: return "ProbabilityError";
    case ErrorKind::RowSum: return "RowSumError";
    case ErrorKind::NoExit: return "NoExitError";
    case ErrorKind::Structure: return "StructureError";
    case ErrorKind::Distribution: return "DistributionError";
    case ErrorKind::UnknownDistribution: return "UnknownDistributionError";
    case ErrorKind::Convergence: return "ConvergenceError";
    case ErrorKind::MissingFeature: return "MissingFeatureError";
    case ErrorKind::FeatureValue: return "FeatureValueError";
    case ErrorKind::Label: return "LabelError";
    case ErrorKind::ScorerFormat: return "ScorerFormatError";
    case ErrorKind::Strategy: return "StrategyError";
  }
  return "FunnelError";
}

}  // namespace funnelkit
