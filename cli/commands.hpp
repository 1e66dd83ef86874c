// The pidlab command line: one function per subcommand.
#pragma once

#include <string>
#include <vector>

namespace pidlab::cli {

struct ReplayArgs {
    std::string kernel;  // empty: each scenario's own kernel
    bool json = false;
    bool tree = false;
    bool quiet = false;
    std::vector<std::string> paths;
};
int cmd_replay(const ReplayArgs& a);

}  // namespace pidlab::cli
