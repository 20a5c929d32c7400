using System.CommandLine;
using System.CommandLine.Invocation;
using Npgsql;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Functions.Hosting;

/// <summary>The commands: <c>start</c> runs the function app, <c>migrate</c> applies the schema.</summary>
public static class Cli
{
    public static async Task<int> RunAsync(string[] args)
    {
        var port = new Option<int?>("--port") { Description = "HTTP port (default: local.settings.json Host.LocalHttpPort, else 7071)." };
        var host = new Option<string?>("--host") { Description = "Interface to listen on (default: localhost in Development, all interfaces otherwise)." };
        var dataDir = new Option<string?>("--data-dir") { Description = "Keep the embedded PostgreSQL cluster in this folder across runs (default: a throwaway one); relative to the folder the command is typed in." };
        var start = new Command("start", "Run the enabled functions; starts an embedded PostgreSQL and a mock Kafka cluster for whatever is not configured. " + StartupChecks.ExitCodesHelp)
        {
            port, host, dataDir,
        };
        start.TreatUnmatchedTokensAsErrors = false;
        start.SetAction((parse, cancellationToken) => StartAsync(
            parse.GetValue(port), parse.GetValue(host), parse.GetValue(dataDir), [.. parse.UnmatchedTokens], cancellationToken));

        var migrate = new Command("migrate", "Apply the database schema to TimescaleConnection and exit.");
        migrate.TreatUnmatchedTokensAsErrors = false;
        migrate.SetAction((parse, cancellationToken) => MigrateAsync([.. parse.UnmatchedTokens], cancellationToken));

        var url = new Option<string>("--url") { Description = "The running app.", DefaultValueFactory = _ => "http://localhost:7071" };
        var key = new Option<string?>("--key") { Description = "Master key (default: Keys__Master from the environment, else from local.settings.json Values)." };
        var sensor = new Option<string?>("--sensor") { Description = "Only this sensor (default: every sensor)." };
        var from = new Option<string?>("--from") { Description = "Start of the range, ISO-8601 with offset, e.g. 2026-01-01T00:00:00Z." };
        var to = new Option<string?>("--to") { Description = "End of the range (exclusive)." };
        var job = new Option<long?>("--job") { Description = "Follow an existing job instead of starting one." };
        var name = new Option<string?>("--name") { Description = "A request id for the job: run again with the same name, the command follows the job it started instead of starting another (a Kubernetes Job passes its name and uid)." };
        var recalibrate = new Command("recalibrate", "Recalculate calibrated values from raw readings on a running app, with live progress.")
        {
            url, key, sensor, from, to, job, name,
        };
        recalibrate.SetAction((parse, cancellationToken) => RecalibrateCommand.RunAsync(
            parse.GetValue(url)!, parse.GetValue(key), parse.GetValue(sensor), parse.GetValue(from), parse.GetValue(to), parse.GetValue(job), parse.GetValue(name), LocalSettings(), cancellationToken));

        var simUrl = new Option<string>("--url") { Description = "The running app.", DefaultValueFactory = _ => "http://localhost:7071" };
        var simKey = new Option<string?>("--key") { Description = "Master key, for enrolment (default: as recalibrate finds it)." };
        var simDevices = new Option<int>("--devices") { Description = "Devices to enrol and run.", DefaultValueFactory = _ => 50 };
        var simRate = new Option<double>("--rate") { Description = "Readings per second per device.", DefaultValueFactory = _ => 2 };
        var simTransport = new Option<string>("--transport") { Description = "mqtt (mutual TLS, QoS 1), http (signed), or both (even devices mqtt, odd http).", DefaultValueFactory = _ => "mqtt" };
        var simDuration = new Option<int>("--duration") { Description = "Seconds to run.", DefaultValueFactory = _ => 60 };
        var simProvisioning = new Option<string?>("--provisioning-secret") { Description = "Provision the devices with startup events signed with this DeviceProvisioningSecret instead of enrolling them (default: DeviceProvisioningSecret from the environment, else enrolment)." };
        var simulate = new Command("simulate", "Enrol (or provision) simulated devices on a running app and send realistic temperatures over MQTT or signed HTTP, with a live count and a summary.")
        {
            simUrl, simKey, simDevices, simRate, simTransport, simDuration, simProvisioning,
        };
        simulate.SetAction((parse, cancellationToken) => SimulateCommand.RunAsync(
            parse.GetValue(simUrl)!, RecalibrateCommand.ResolveKey(parse.GetValue(simKey), System.Environment.GetEnvironmentVariable("Keys__Master"), LocalSettings()),
            parse.GetValue(simDevices), parse.GetValue(simRate), parse.GetValue(simTransport)!, parse.GetValue(simDuration),
            parse.GetValue(simProvisioning) ?? System.Environment.GetEnvironmentVariable("DeviceProvisioningSecret"), cancellationToken));

        var statusUrl = new Option<string>("--url") { Description = "The running app.", DefaultValueFactory = _ => "http://localhost:7071" };
        var statusKey = new Option<string?>("--key") { Description = "Master or function key (default: as recalibrate finds it)." };
        var watch = new Option<bool>("--watch") { Description = "Show the view again every --interval seconds until Ctrl+C (redrawn in a terminal, a new block otherwise)." };
        var interval = new Option<int>("--interval") { Description = "Seconds between views with --watch.", DefaultValueFactory = _ => 5 };
        var status = new Command("status", "The pipeline view of a running app: throughput, lag per group and partition against the KEDA threshold, uncalibrated readings, dead letters, ingest errors, recalibrations. Exit code: 0 nothing needs attention, 1 a warning, 2 something critical, 3 app not reachable or key refused.")
        {
            statusUrl, statusKey, watch, interval,
        };
        status.SetAction((parse, cancellationToken) => StatusCommand.RunAsync(
            parse.GetValue(statusUrl)!, parse.GetValue(statusKey), parse.GetValue(watch), parse.GetValue(interval), LocalSettings(), cancellationToken));

        var root = new RootCommand("SensorPipeline: sensor readings in over HTTP, stored raw, calibrated through Kafka.") { start, migrate, recalibrate, simulate, status };
        AppendSettingsToStartHelp(root, start);
        // The host handles SIGTERM/Ctrl+C itself, so that in-flight batches can finish or be abandoned cleanly.
        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration
        {
            ProcessTerminationTimeout = parsed.CommandResult.Command == recalibrate || parsed.CommandResult.Command == simulate || parsed.CommandResult.Command == status ? TimeSpan.FromSeconds(2) : null,
        });
    }

    private static string Environment() =>
        System.Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT")
        ?? System.Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT")
        ?? Environments.Development;

    /// <summary>local.settings.json in the current folder or a parent up to the repository root (the folder with host.json).</summary>
    private static string? LocalSettings()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "local.settings.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }

            if (File.Exists(Path.Combine(dir.FullName, "host.json")))
            {
                break;
            }
        }

        return null;
    }

    /// <summary><c>start --help</c> also lists every setting with its default (<see cref="SettingsReference"/>).</summary>
    private static void AppendSettingsToStartHelp(RootCommand root, Command start)
    {
        foreach (var help in root.Options.OfType<System.CommandLine.Help.HelpOption>())
        {
            if (help.Action is SynchronousCommandLineAction standard)
            {
                help.Action = new SettingsHelpAction(standard, start);
            }
        }
    }

    private sealed class SettingsHelpAction(SynchronousCommandLineAction standard, Command start) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var result = standard.Invoke(parseResult);
            if (parseResult.CommandResult.Command == start)
            {
                var output = parseResult.InvocationConfiguration.Output;
                output.WriteLine(SettingsReference.Help());
                output.WriteLine();
            }

            return result;
        }
    }

    private static async Task<int> StartAsync(int? portOption, string? host, string? dataDir, string[] args, CancellationToken cancellationToken)
    {
        var environment = Environment();
        var localSettings = LocalSettings();
        // Everything that can be checked is checked before anything starts.
        if (StartupChecks.ValidateConfiguration(args, environment, localSettings) is { } problem)
        {
            await Console.Error.WriteLineAsync("Configuration error: " + problem);
            return StartupChecks.ExitCodes.Configuration;
        }

        var builder = SensorPipelineApp.CreateBuilder(args, environment, localSettings);
        var port = portOption ?? builder.Configuration.GetValue<int?>("Host:LocalHttpPort") ?? 7071;
        var listen = host ?? (builder.Environment.IsDevelopment() ? "localhost" : "0.0.0.0");
        if (StartupChecks.IsPortInUse(listen, port))
        {
            await Console.Error.WriteLineAsync($"Port {port} on {listen} is already in use: stop what uses it (another 'start'?) or pass --port <other>.");
            return StartupChecks.ExitCodes.PortInUse;
        }

        if (dataDir is not null)
        {
            dataDir = StartupChecks.ResolveDataDirectory(dataDir, System.Environment.GetEnvironmentVariable("PWD"), Directory.GetCurrentDirectory());
        }

        EmbeddedStack embedded;
        try
        {
            embedded = await EmbeddedStack.StartMissingAsync(builder.Configuration, Console.Out, dataDir, cancellationToken, builder.Environment.IsDevelopment());
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or Confluent.Kafka.KafkaException)
        {
            await Console.Error.WriteLineAsync("Cannot start the embedded development stack: " + e.Message.ReplaceLineEndings(" ") +
                " Install PostgreSQL (apt-get install postgresql) or set TimescaleConnection and KafkaBrokerList.");
            return StartupChecks.ExitCodes.EmbeddedStack;
        }

        await using var embeddedStack = embedded;
        builder.Configuration.AddInMemoryCollection(embedded.Settings);
        builder.WebHost.UseUrls($"http://{listen}:{port}");

        WebApplication app;
        try
        {
            app = SensorPipelineApp.Build(builder);
        }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync("Configuration error: " + e.Message);
            return StartupChecks.ExitCodes.Configuration;
        }

        await using (app)
        {
            MigrationResult migration;
            try
            {
                migration = await app.MigrateAsync(cancellationToken);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or ArgumentException)
            {
                await Console.Error.WriteLineAsync("Database error: " + e.Message);
                return StartupChecks.ExitCodes.Database;
            }

            var catalog = app.Services.GetRequiredService<FunctionCatalog>();
            var configuration = app.Configuration;
            var keys = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Runtime.Http.FunctionKeysOptions>>().Value;
            Console.WriteLine();
            Console.WriteLine($"SensorPipeline ({environment})");
            var baseUrl = $"http://{(listen == "0.0.0.0" ? "localhost" : listen)}:{port}";
            Console.WriteLine($"  HTTP        {baseUrl}/api/readings  (health: /health/ready)");
            Console.WriteLine($"  Dashboard   {baseUrl}/  (terminal: dotnet run --project functions -- status --url {baseUrl})");
            Console.WriteLine($"  Database    {StartupChecks.PostgresUri(configuration["TimescaleConnection"]!)}  [{(embedded.Postgres is null ? "configured" : "embedded")}, {(migration.Mode == DatabaseMode.TimescaleDb ? "TimescaleDB " + migration.TimescaleVersion : "plain PostgreSQL (no TimescaleDB)")}]");
            Console.WriteLine($"              psql \"{StartupChecks.PostgresUri(configuration["TimescaleConnection"]!)}\"   (as TimescaleConnection: {Redact(configuration["TimescaleConnection"]!)})");
            if (embedded.Postgres is { } postgres)
            {
                Console.WriteLine($"  Data dir    {postgres.DataDirectory}  [{(dataDir is null ? "throwaway: deleted at exit; --data-dir keeps it" : "kept across runs")}]");
            }

            Console.WriteLine($"  Kafka       {configuration["KafkaBrokerList"]}  [{(embedded.Kafka is null ? "configured" : "MOCK cluster, in memory, development only")}; group protocol {configuration["KafkaGroupProtocol"] ?? "classic"}]");
            Console.WriteLine($"  Keys        {(keys.AllowAnonymous ? "NONE REQUIRED: local development only (set Keys__Master to require keys)" : "required (x-functions-key or ?code=)")}");
            Devices.DeviceAuthority? deviceCa = null;
            try
            {
                if (!string.IsNullOrWhiteSpace(configuration["DeviceCaDirectory"]))
                {
                    deviceCa = app.Services.GetRequiredService<Devices.DeviceAuthority>();
                }
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                await Console.Error.WriteLineAsync("Configuration error: the device CA (DeviceCaDirectory): " + e.Message);
                return StartupChecks.ExitCodes.Configuration;
            }

            var broker = app.Services.GetRequiredService<Mqtt.EmbeddedMqttBroker>();
            var mqtt = app.Services.GetRequiredService<Devices.MqttEndpoint>();
            if (deviceCa is null)
            {
                Console.WriteLine("  Devices     OFF: DeviceCaDirectory is not set (no enrolment, signed HTTP or MQTT door)");
            }
            else
            {
                Console.WriteLine(broker.Enabled
                    ? $"  MQTT        mqtts://{mqtt.Host}:{broker.Port}  [embedded MQTTnet broker on {configuration["MqttListenAddress"] ?? "loopback"} (MqttListenAddress): TLS, client certificate from the device CA, devices/<id>/readings]"
                    : string.Equals(configuration["MqttBroker"], "none", StringComparison.OrdinalIgnoreCase)
                        ? $"  MQTT        off in this instance (MqttBroker=none); devices are told {mqtt.Host}:{mqtt.Port}"
                        : $"  MQTT        {configuration["MqttBroker"]}  [configured broker; bridge $share/{configuration["MqttBridgeGroup"] ?? "sensorpipeline"}/devices/+/readings]");
                Console.WriteLine($"  Device CA   {deviceCa.Directory}  [{(deviceCa.Created ? "created now" : "loaded")}{(embedded.ThrowawayDeviceCa is null ? "" : "; throwaway: --data-dir keeps it")}]  enrol: POST /api/devices");
            }
            Console.WriteLine("  Functions");
            var routePrefix = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<FunctionsHostOptions>>().Value.Http.RoutePrefix;
            foreach (var line in FunctionListing.Lines(catalog, app.Services.GetRequiredService<SettingResolver>(), routePrefix, $"http://{(listen == "0.0.0.0" ? "localhost" : listen)}:{port}"))
            {
                Console.WriteLine("    " + line);
            }

            if (migration.Applied.Count > 0)
            {
                Console.WriteLine($"  Migrations  applied {string.Join(", ", migration.Applied)}");
            }

            if (LocalSettings() is { } settingsFile)
            {
                Console.WriteLine($"  Settings    {settingsFile}");
            }

            Console.WriteLine();
            try
            {
                await app.RunAsync();
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                await Console.Error.WriteLineAsync($"Port {port} is already in use: stop what uses it or pass --port.");
                return StartupChecks.ExitCodes.PortInUse;
            }
            catch (Runtime.Kafka.KafkaGroupProtocolUnsupportedException e)
            {
                await Console.Error.WriteLineAsync("Kafka error: " + e.Message);
                return 5;
            }
        }

        return 0;
    }

    private static async Task<int> MigrateAsync(string[] args, CancellationToken cancellationToken)
    {
        var builder = SensorPipelineApp.CreateBuilder(args, Environment(), LocalSettings());
        var connection = builder.Configuration["TimescaleConnection"];
        if (string.IsNullOrWhiteSpace(connection))
        {
            await Console.Error.WriteLineAsync("TimescaleConnection is not set: nothing to migrate (start creates and migrates its own embedded database).");
            return 2;
        }

        await using var dataSource = NpgsqlDataSource.Create(connection);
        var mode = Enum.TryParse<DatabaseMode>(builder.Configuration["DatabaseMode"], ignoreCase: true, out var m) ? m : (DatabaseMode?)null;
        Migrator migrator;
        try
        {
            var options = new PipelineOptions();
            builder.Configuration.Bind(options);
            migrator = new Migrator(dataSource, options.Timescale());
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync("Configuration error: " + e.Message);
            return 2;
        }

        var result = await migrator.MigrateAsync(mode, cancellationToken);
        Console.WriteLine($"Database mode: {(result.Mode == DatabaseMode.TimescaleDb ? "TimescaleDB " + result.TimescaleVersion : "plain PostgreSQL")}");
        Console.WriteLine(result.Applied.Count == 0 ? "Schema is up to date." : $"Applied: {string.Join(", ", result.Applied)}");
        return 0;
    }

    private static string Redact(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!string.IsNullOrEmpty(builder.Password))
        {
            builder.Password = "***";
        }

        return builder.ConnectionString;
    }
}
