// pidlab: a simulator and model checker of Linux process-lifecycle semantics.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "cli/commands.hpp"

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

    // One line per subcommand (each in its own cli/*_cmd.cpp).
    std::vector<std::pair<CLI::App*, cli::Runner>> commands;
    auto add = [&](cli::Runner r) {
        commands.emplace_back(app.get_subcommands([](CLI::App*) { return true; }).back(), std::move(r));
    };
    add(cli::add_replay(app));
    add(cli::add_profiles(app));
    add(cli::add_explore(app));
    add(cli::add_crosscheck(app));
    add(cli::add_random(app));
    add(cli::add_difftest(app));
    add(cli::add_validate(app));

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
    for (auto& [sub, run] : commands)
        if (sub->parsed()) return run();
    return 2;
}
