#include "cli/app.h"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/verbs.h"
#include "core/log.h"

namespace mica::cli {

namespace {

// Points CLI options at the shared Globals so every verb accepts them.
void AddGlobalOptions(CLI::App& app, Globals& g) {
  app.add_option("--db", g.db, "Inventory database path (default ./mica.db, or $MICA_DB)");
  app.add_option("--config", g.config,
                 "Configuration file (default ./mica.toml if present, or $MICA_CONFIG)");
  app.add_option("--log-format", g.log_format, "Log format on stderr: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", g.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

}  // namespace

void RegisterVerbs(CLI::App& app, Context& ctx) {
  // Verb groups beyond the foundation register here, one line each (cli/verbs.h).
  RegisterTlsVerbs(app, ctx);
  RegisterWeakKeysVerbs(app, ctx);
  RegisterVerifyVerbs(app, ctx);
  RegisterPolicyVerbs(app, ctx);
  RegisterAuditVerbs(app, ctx);
  RegisterWatchVerbs(app, ctx);
  RegisterPeopleVerbs(app, ctx);
  RegisterAlertsVerbs(app, ctx);
}

int Run(int argc, char** argv) {
  CLI::App app{"mica: discover, inventory and judge machine identities", "mica"};
  app.set_version_flag("--version,-V", std::string("mica ") + MICA_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  Context ctx;
  AddGlobalOptions(app, ctx.g);

  auto* help = app.add_subcommand("help", "Show help for mica or for one verb");
  std::vector<std::string> help_topic;
  help->add_option("verb", help_topic, "Verb to describe");

  Commands commands(ctx);
  commands.Register(app);
  RegisterVerbs(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "mica: " << e.what() << "\nRun 'mica help' for usage.\n";
    return 2;
  }

  if (help->parsed()) {
    if (help_topic.empty()) {
      // app.help() would print the selected subcommand's help, i.e. help's own.
      std::cout << app.get_formatter()->make_help(&app, "mica", CLI::AppFormatMode::Normal);
      return 0;
    }
    CLI::App* sub = &app;
    for (const auto& t : help_topic) {
      try {
        sub = sub->get_subcommand(t);
      } catch (const CLI::OptionNotFound&) {
        std::cerr << "mica: no verb '" << t << "'. Run 'mica help' for the list.\n";
        return 2;
      }
    }
    std::cout << sub->help();
    return 0;
  }

  InitLogging(ctx.g.log_format == "json" ? LogFormat::kJson : LogFormat::kText, ctx.g.log_level);
  if (!ctx.selected) return 2;
  return ctx.selected();
}

}  // namespace mica::cli
