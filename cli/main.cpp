// pidlab: a simulator and model checker of Linux process-lifecycle semantics.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "model/profile.hpp"

#ifndef PIDLAB_VERSION
#define PIDLAB_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
    using namespace pidlab;
    CLI::App app{"pidlab: a simulator and model checker of Linux process-lifecycle semantics\n"
                 "(fork/exit/wait/ptrace/pidfd and the 7.1 clone3 flags CLONE_AUTOREAP, CLONE_NNP,\n"
                 "CLONE_PIDFD_AUTOKILL), with real-kernel cross-checking.",
                 "pidlab"};
    app.set_version_flag("--version", std::string("pidlab ") + PIDLAB_VERSION);
    app.require_subcommand(1);

    cli::ReplayArgs ra;
    auto* replay = app.add_subcommand("replay", "Replay scenario files in the model and check their expectations");
    replay->add_option("--kernel", ra.kernel,
                       "Kernel profile: 7.1, pre-7.1, rfc-v1, v2 ... v5, or a version such as 6.12.95 "
                       "(default: each scenario's own `kernel`)");
    replay->add_flag("--json", ra.json, "Print the observations as JSON");
    replay->add_flag("--tree", ra.tree, "Print the process tree after each step");
    replay->add_flag("-q,--quiet", ra.quiet, "Print only failing scenarios and the summary");
    replay->add_option("paths", ra.paths, "Scenario files or directories")->required();

    auto* profiles = app.add_subcommand("profiles", "List the kernel profiles");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;
    }
    if (*replay) return cli::cmd_replay(ra);
    if (*profiles) {
        for (const auto& n : model::profile_names()) std::cout << n << "\t" << model::find_profile(n)->describe() << "\n";
        return 0;
    }
    return 2;
}
