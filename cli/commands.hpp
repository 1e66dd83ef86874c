// The pidlab command line: each subcommand registers itself on the app and
// returns a runner that is called when it was chosen. Exit status: 0 success,
// 1 a finding (mismatch, violation, disagreement), 2 bad input or usage.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace pidlab::cli {

using Runner = std::function<int()>;

struct ReplayArgs {
    std::string kernel;  // empty: each scenario's own kernel
    bool json = false;
    bool tree = false;
    bool quiet = false;
    std::vector<std::string> paths;
};
int cmd_replay(const ReplayArgs& a);

// Each adds its subcommand to `app` and returns the function that runs it.
Runner add_replay(CLI::App& app);
Runner add_profiles(CLI::App& app);
Runner add_explore(CLI::App& app);
Runner add_crosscheck(CLI::App& app);
Runner add_random(CLI::App& app);
Runner add_difftest(CLI::App& app);
Runner add_validate(CLI::App& app);

}  // namespace pidlab::cli
