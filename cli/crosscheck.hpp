// Comparing the model's observations with a real kernel's (pidlab crosscheck,
// and the differential tests).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "format/scenario.hpp"
#include "model/replay.hpp"

namespace pidlab::cli {

struct StepDiff {
    size_t index = 0;
    scenario::Observation model, kernel;
    std::vector<scenario::Mismatch> diffs;
};
struct FinalDiff {
    std::string index_name;
    scenario::Observation model, kernel;
    std::vector<scenario::Mismatch> diffs;
};
struct ScenarioDiff {
    std::string file, name;
    bool agree = false;
    std::string model_error, kernel_error;
    std::vector<StepDiff> steps;
    std::vector<FinalDiff> finals;
    std::vector<std::pair<std::string, std::vector<scenario::Mismatch>>> expectation_failures;
};
struct CrossReport {
    std::string release, build, profile;
    std::vector<ScenarioDiff> scenarios;
    size_t agree_count() const;
};

// Keys either side reports must agree; two errors agree whatever their text.
std::vector<scenario::Mismatch> diff_observations(const scenario::Observation& model, const scenario::Observation& kernel);
// Step j as the model and the kernel observed it, for j below the longer of the two runs: a
// step one side did not get to is an error on that side ("not run by the model" / "on the kernel").
size_t steps_to_compare(const model::ReplayResult& m, const scenario::RunResult& k);
std::pair<scenario::Observation, scenario::Observation> step_observations(const model::ReplayResult& m,
                                                                          const scenario::RunResult& k, size_t j);
// Replays each scenario in the model with the profile of `release` and diffs it with the kernel's results.
CrossReport crosscheck_results(const std::vector<scenario::Scenario>& scenarios,
                               const std::vector<scenario::RunResult>& kernel_results, const std::string& release,
                               const std::string& build, const std::string& model_kernel = "");
void print_report(const CrossReport& rep, const std::vector<scenario::Scenario>& scenarios, bool quiet);
std::string markdown_report(const std::vector<CrossReport>& reps);

}  // namespace pidlab::cli
