// pidlab validate: the model-side engine (see validate.hpp).
#include "cli/validate.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "checker/explore.hpp"
#include "model/replay.hpp"
#include "prop/search.hpp"

namespace pidlab::validate {

namespace fs = std::filesystem;

namespace {

double since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string count_text(uint64_t n) {
    if (n >= 1000000 && n % 100000 == 0) return fmt::format("{}M", double(n) / 1e6);
    if (n >= 1000 && n % 1000 == 0) return fmt::format("{}k", n / 1000);
    return std::to_string(n);
}

std::string states_text(uint64_t n) {
    if (n >= 1000000) return fmt::format("{:.2f} M", double(n) / 1e6);
    if (n >= 1000) return fmt::format("{:.1f} k", double(n) / 1e3);
    return std::to_string(n);
}

// A short tag for a configuration, used in the holds cells: "d4/6" (default alphabet, 4 tasks, depth 6).
std::string short_tag(const ExploreSpec& s) {
    std::string a = s.ops;
    if (a == "default") a = "d";
    else if (a == "ptrace") a = "p";
    else if (a == "minimal") a = "m";
    else if (a == "full") a = "f";
    else a = "[" + a + "]";
    return fmt::format("{}{}/{}", a, s.tasks, s.depth);
}

// Graphviz pictures of a scenario's process tree: the initial state, then after each step.
std::vector<std::string> scenario_dots(const scenario::Scenario& s, const model::Profile& p) {
    std::vector<std::string> out;
    try {
        model::Replayer rp(s, p);
        out.push_back(rp.graphviz());
        for (size_t i = 0; i < s.steps.size(); ++i) {
            rp.step(i);
            out.push_back(rp.graphviz());
        }
    } catch (const std::exception&) {
    }
    return out;
}

// A prefix of a corpus scenario as a counterexample: expectations dropped (they were written for
// another kernel), violates and kernel set.
scenario::Scenario corpus_counterexample(const scenario::Scenario& s, size_t steps, const std::string& inv,
                                         const std::string& rev, const std::string& rel, const std::string& detail) {
    scenario::Scenario c = s;
    c.steps.resize(steps);
    for (auto& st : c.steps) st.expect.reset();
    c.final.clear();
    prop::label_counterexample(c, inv, rev, "corpus scenario " + rel + " (first " + std::to_string(steps) +
                                                 " steps) under " + rev + ": " + detail);
    return c;
}

bool better(const Cell& a, const Cell& b) {  // a is a better counterexample than b
    if (!b.violated) return a.violated;
    if (!a.violated) return false;
    if (a.length != b.length) return a.length < b.length;
    return int(a.source) < int(b.source);  // explore, then random, then corpus (stable: first wins)
}

bool have_dot() {
    const char* path = std::getenv("PATH");
    if (!path) return false;
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
        if (!dir.empty() && access((dir + "/dot").c_str(), X_OK) == 0) return true;
    return false;
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string pad(const std::string& s, size_t w) {
    // display width: count UTF-8 lead bytes only
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return s + std::string(w > n ? w - n : 0, ' ');
}
size_t width(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

}  // namespace

std::string ExploreSpec::label() const { return fmt::format("{} {}t/{}d", ops, tasks, depth); }

std::vector<std::string> all_revisions() { return {"rfc-v1", "v2", "v3", "v4", "v5", "7.1"}; }

Options default_options() {
    Options o;
    o.revisions = all_revisions();
    // Measured on 2 cores (README "Validating the revisions"): about 20 s per revision in all.
    o.explore = {{"default", 4, 6}, {"default", 3, 8}, {"ptrace", 3, 5}};
    o.random_cases = 200000;
    o.random_steps = 24;
    o.seed = 1;
    o.threads = 2;
    return o;
}

bool parse_revisions(const std::string& list, std::vector<std::string>& out, std::string& err) {
    out.clear();
    if (list.empty() || list == "all") {
        out = all_revisions();
        return true;
    }
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        auto p = model::find_profile(item);
        if (!p) {
            err = "unknown revision \"" + item + "\" (known: rfc-v1 v2 v3 v4 v5 7.1, also 7.2 7.3 pre-7.1 6.1 6.12 "
                  "6.18, or all)";
            return false;
        }
        if (std::find(out.begin(), out.end(), p->name) == out.end()) out.push_back(p->name);
    }
    if (out.empty()) {
        err = "no revision given";
        return false;
    }
    return true;
}

const char* source_name(Source s) {
    switch (s) {
    case Source::Explore: return "explore";
    case Source::Random: return "random search";
    case Source::Corpus: return "corpus";
    }
    return "?";
}

std::string bounds_text(const Options& o) {
    std::string s;
    for (const auto& e : o.explore) s += (s.empty() ? "" : " ") + short_tag(e);
    if (o.random_cases) s += (s.empty() ? "" : " ") + ("r" + count_text(o.random_cases));
    if (!o.corpus.empty()) s += (s.empty() ? "" : " ") + std::string("c");
    return s;
}

std::string cell_text(const Cell& c, const Options& o, bool) {
    if (!c.violated) return "holds (" + bounds_text(o) + ")";
    std::string s = fmt::format("violated ({} step{}", c.length, c.length == 1 ? "" : "s");
    if (c.source != Source::Explore) s += std::string(", ") + source_name(c.source);
    return s + ")";
}

Result run(const Options& o) {
    const auto& invs = checker::invariants();
    auto say = [&](const std::string& s) {
        if (o.progress) o.progress(s);
    };
    auto t_all = std::chrono::steady_clock::now();

    // Check every option before any long work.
    std::vector<model::Profile> profiles;
    for (const auto& r : o.revisions) {
        auto p = model::find_profile(r);
        if (!p) throw std::runtime_error("unknown revision \"" + r + "\"");
        profiles.push_back(*p);
    }
    std::vector<checker::Alphabet> alphabets;
    for (const auto& e : o.explore) {
        checker::Alphabet al;
        std::string err;
        if (!checker::parse_alphabet(e.ops, al, err)) throw std::runtime_error("alphabet \"" + e.ops + "\": " + err);
        if (e.tasks < 1 || e.tasks > 60 || e.depth < 0 || e.depth > 64)
            throw std::runtime_error("explore bounds " + e.label() + ": tasks 1..60, depth 0..64");
        alphabets.push_back(al);
    }
    std::vector<scenario::Scenario> corpus;
    std::vector<std::string> corpus_rel;
    if (!o.corpus.empty()) {
        auto files = scenario::collect_scenario_files({o.corpus});  // throws FormatError
        for (const auto& f : files) {
            corpus.push_back(scenario::load_scenario_file(f));
            corpus_rel.push_back(fs::relative(f, o.corpus).generic_string());
        }
    }

    Result res;
    for (size_t ri = 0; ri < profiles.size(); ++ri) {
        const auto& prof = profiles[ri];
        const std::string rev = prof.name;
        auto t_rev = std::chrono::steady_clock::now();
        RevisionResult rr;
        rr.revision = rev;
        rr.profile = prof.describe();
        rr.cells.resize(invs.size());
        auto offer = [&](int inv, Cell c) {
            if (better(c, rr.cells[size_t(inv)])) rr.cells[size_t(inv)] = std::move(c);
        };

        // 1. The corpus, with the invariants watched.
        if (!corpus.empty()) {
            auto t0 = std::chrono::steady_clock::now();
            rr.corpus.files = corpus.size();
            for (size_t si = 0; si < corpus.size(); ++si) {
                const auto& s = corpus[si];
                std::string why;
                bool mismatch = false, violated = false;
                try {
                    model::Replayer rp(s, prof);
                    checker::monitored_replay(rp, s, checker::all_invariants(), [&](checker::MonitoredStep& m) {
                        const size_t i = m.index;
                        if (m.outcome.obs.error) {
                            why = fmt::format("step {} ({}): {}", i, scenario::describe_step(s.steps[i]),
                                              *m.outcome.obs.error);
                            return false;
                        }
                        if (!m.outcome.mismatches.empty()) mismatch = true;
                        if (!m.violated.empty() && !violated) {
                            violated = true;
                            for (const auto& d : m.details) {
                                Cell c;
                                c.violated = true;
                                c.length = i + 1;
                                c.source = Source::Corpus;
                                c.how = "corpus " + corpus_rel[si];
                                c.detail = d.detail;
                                c.scenario = corpus_counterexample(s, i + 1, invs[size_t(d.inv)].name, rev,
                                                                   corpus_rel[si], d.detail);
                                offer(d.inv, std::move(c));
                            }
                        }
                        return true;
                    });
                    if (why.empty()) {
                        auto fin = rp.final_observations();
                        for (const auto& [name, exp] : s.final)
                            if (!scenario::compare(exp, fin[name]).empty()) mismatch = true;
                    }
                } catch (const scenario::FormatError& e) {
                    why = e.what();
                }
                if (!why.empty()) {
                    ++rr.corpus.does_not_run;
                    rr.corpus.not_running.push_back(corpus_rel[si] + ": " + why);
                } else {
                    ++rr.corpus.runs;
                    if (!mismatch) ++rr.corpus.meets;
                }
                if (violated) ++rr.corpus.violations;
            }
            rr.corpus.seconds = since(t0);
            say(fmt::format("validate: {}: corpus: {} scenarios, {} run ({} meet their expectations), {} do not run, "
                            "{} violate an invariant ({:.1f} s)",
                            rev, rr.corpus.files, rr.corpus.runs, rr.corpus.meets, rr.corpus.does_not_run,
                            rr.corpus.violations, rr.corpus.seconds));
        }

        // 2. Exhaustive exploration, each configuration breadth-first (shortest counterexamples).
        for (size_t ei = 0; ei < o.explore.size(); ++ei) {
            const auto& spec = o.explore[ei];
            checker::ExploreConfig c;
            c.profile = prof;
            c.alphabet = alphabets[ei];
            c.bounds.tasks = spec.tasks;
            c.bounds.depth = spec.depth;
            c.mask = checker::all_invariants();
            c.mode = checker::SearchMode::Bfs;
            c.search.threads = o.threads > 0 ? o.threads : 2;
            c.search.depth = spec.depth;
            c.search.max_states = o.max_states;
            c.search.progress_secs = 0;
            c.search.stop_when_all_found = false;
            say(fmt::format("validate: {}: explore {} ...", rev, spec.label()));
            auto er = checker::explore(c);
            ExploreRun run;
            run.spec = spec;
            run.states = er.stats.states;
            run.transitions = er.stats.transitions;
            run.complete = er.stats.exhausted || er.stats.closed;
            run.seconds = er.stats.seconds;
            for (auto& ce : er.counterexamples) {
                run.violated.push_back(ce.invariant);
                if (ce.interleaved) continue;  // not with these configurations
                Cell cell;
                cell.violated = true;
                cell.length = ce.ops.size();
                cell.source = Source::Explore;
                cell.how = "explore " + spec.label();
                cell.detail = ce.detail;
                cell.scenario = ce.scenario;
                cell.scenario.name = ce.invariant + "_" + rev;  // unique across the revisions
                for (auto& ch : cell.scenario.name)
                    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) ch = '_';
                cell.dots = ce.dots;
                offer(ce.inv, std::move(cell));
            }
            say(fmt::format("validate: {}: explore {}: {} states, {} transitions in {:.1f} s{}; violated: {}", rev,
                            spec.label(), states_text(run.states), states_text(run.transitions), run.seconds,
                            run.complete ? "" : " (INCOMPLETE: state limit)",
                            run.violated.empty() ? std::string("none") : [&] {
                                std::string s;
                                for (const auto& v : run.violated) s += (s.empty() ? "" : ", ") + v;
                                return s;
                            }()));
            rr.explores.push_back(std::move(run));
        }

        // 3. Random search (the property tests' engine): fixed seed and budget, one finding per invariant.
        if (o.random_cases) {
            prop::SearchOptions so;
            so.profile = prof;
            so.mask = checker::all_invariants();
            so.seed = o.seed;
            so.cases = o.random_cases;
            so.steps = o.random_steps;
            so.keep_going = true;
            so.jobs = std::max(1, o.random_jobs);
            so.progress_every = std::max<uint64_t>(1, o.random_cases / 4);
            so.progress = [&](uint64_t done, size_t found) {
                say(fmt::format("validate: {}: random search {}/{} cases, {} finding(s)", rev, done, o.random_cases,
                                found));
            };
            auto sr = prop::random_search(so);
            rr.random.cases = sr.cases;
            rr.random.steps = sr.steps;
            rr.random.seconds = sr.seconds;
            for (auto& f : sr.findings) {
                rr.random.found.push_back(f.invariant);
                auto idx = checker::invariant_index(f.invariant);
                if (!idx) continue;
                Cell cell;
                cell.violated = true;
                cell.length = f.shrunk.steps.size();
                cell.source = Source::Random;
                cell.how = fmt::format("random search (seed {}, case {})", o.seed, f.case_index);
                cell.detail = f.detail;
                cell.scenario = f.shrunk;
                offer(*idx, std::move(cell));
            }
            std::sort(rr.random.found.begin(), rr.random.found.end());
            std::string found;
            for (const auto& v : rr.random.found) found += (found.empty() ? "" : ", ") + v;
            say(fmt::format("validate: {}: random search: {} cases of {} steps in {:.1f} s; found: {}", rev, sr.cases,
                            o.random_steps, sr.seconds, found.empty() ? "nothing" : found));
        }

        for (auto& c : rr.cells)
            if (c.violated && c.dots.empty()) c.dots = scenario_dots(c.scenario, prof);
        rr.seconds = since(t_rev);
        say(fmt::format("validate: {}: done in {:.1f} s", rev, rr.seconds));
        res.revisions.push_back(std::move(rr));
    }
    res.seconds = since(t_all);
    return res;
}

size_t write_outputs(Result& r, const std::string& dir, bool svg) {
    const bool dot = svg && have_dot();
    size_t bad = 0;
    for (auto& rr : r.revisions) {
        auto prof = model::find_profile(rr.revision);
        for (size_t i = 0; i < rr.cells.size(); ++i) {
            auto& c = rr.cells[i];
            if (!c.violated) continue;
            const std::string inv = checker::invariants()[i].name;
            const std::string base = dir + "/" + rr.revision + "/" + inv;
            fs::create_directories(base);
            c.json_file = base + ".json";
            c.dot_dir = base;
            {
                std::ofstream out(c.json_file);
                out << scenario::to_json(c.scenario).dump(2) << "\n";
                if (!out) throw std::runtime_error("cannot write " + c.json_file);
            }
            for (const auto& e : fs::directory_iterator(base))
                if (e.path().extension() == ".dot" || e.path().extension() == ".svg") fs::remove(e.path());
            for (size_t k = 0; k < c.dots.size(); ++k) {
                std::ofstream(fmt::format("{}/step-{:02}.dot", base, k)) << c.dots[k];
            }
            if (dot && !c.dots.empty()) {
                std::string in = fmt::format("{}/step-{:02}.dot", base, c.dots.size() - 1);
                std::string out = fmt::format("{}/step-{:02}.svg", base, c.dots.size() - 1);
                std::string cmd = "dot -Tsvg " + shell_quote(in) + " -o " + shell_quote(out) + " 2>/dev/null";
                if (std::system(cmd.c_str()) == 0) c.svg_file = out;
            }
            // What `pidlab replay FILE` checks: the file, loaded back, shows the violation at its last step.
            try {
                auto s = scenario::load_scenario_file(c.json_file);
                auto chk = checker::check_counterexample(s, *prof);
                c.replays = !chk.error && chk.known_invariant && chk.violated_at_last_step;
                if (chk.error) c.replay_problem = chk.error->what();
                else if (!c.replays) c.replay_problem = "the replay does not show the violation at its last step";
            } catch (const std::exception& e) {
                c.replays = false;
                c.replay_problem = e.what();
            }
            if (!c.replays) ++bad;
        }
    }
    return bad;
}

std::string text_table(const Result& r, const Options& o) {
    const auto& invs = checker::invariants();
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> head = {"invariant"};
    for (const auto& rr : r.revisions) head.push_back(rr.revision);
    rows.push_back(head);
    for (size_t i = 0; i < invs.size(); ++i) {
        std::vector<std::string> row = {invs[i].name};
        // Every `holds` cell holds within the same bounds: the text table names them once, below it (B).
        for (const auto& rr : r.revisions)
            row.push_back(rr.cells[i].violated ? cell_text(rr.cells[i], o) : std::string("holds (B)"));
        rows.push_back(row);
    }
    if (!o.corpus.empty()) {
        std::vector<std::string> row = {"corpus: meet expectations"};
        for (const auto& rr : r.revisions)
            row.push_back(fmt::format("{}/{} ({} can't run)", rr.corpus.meets, rr.corpus.files, rr.corpus.does_not_run));
        rows.push_back(row);
    }
    std::vector<size_t> w(head.size(), 0);
    for (const auto& row : rows)
        for (size_t j = 0; j < row.size(); ++j) w[j] = std::max(w[j], width(row[j]));
    std::string out;
    for (size_t k = 0; k < rows.size(); ++k) {
        std::string line;
        for (size_t j = 0; j < rows[k].size(); ++j) line += (j ? "  " : "") + pad(rows[k][j], w[j]);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
        if (k == 0) {
            std::string rule;
            for (size_t j = 0; j < w.size(); ++j) rule += (j ? "  " : "") + std::string(w[j], '-');
            out += rule + "\n";
        }
    }
    return out;
}

std::string markdown_table(const Result& r, const Options& o) {
    const auto& invs = checker::invariants();
    std::ostringstream os;
    os << "| invariant |";
    for (const auto& rr : r.revisions) os << " " << rr.revision << " |";
    os << "\n|---|";
    for (size_t j = 0; j < r.revisions.size(); ++j) os << "---|";
    os << "\n";
    for (size_t i = 0; i < invs.size(); ++i) {
        os << "| `" << invs[i].name << "` |";
        for (const auto& rr : r.revisions) {
            const auto& c = rr.cells[i];
            os << " " << cell_text(c, o, true);
            if (c.violated && !c.json_file.empty())
                os << " [json](" << rr.revision << "/" << invs[i].name << ".json)"
                   << (c.svg_file.empty() ? "" : " [svg](" + rr.revision + "/" + invs[i].name + "/" +
                                                     fs::path(c.svg_file).filename().string() + ")");
            os << " |";
        }
        os << "\n";
    }
    if (!o.corpus.empty()) {
        os << "| corpus: meet expectations |";
        for (const auto& rr : r.revisions)
            os << " " << rr.corpus.meets << "/" << rr.corpus.files << " (" << rr.corpus.does_not_run
               << " do not run) |";
        os << "\n";
    }
    return os.str();
}

}  // namespace pidlab::validate
