using SensorPipeline.Runtime.Embedded;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Functions.Hosting;

/// <summary>
/// For local runs: what is not configured is started here — a throwaway PostgreSQL cluster when
/// <c>TimescaleConnection</c> is unset, librdkafka's mock cluster when <c>KafkaBrokerList</c> is.
/// </summary>
public sealed class EmbeddedStack : IAsyncDisposable
{
    public EmbeddedPostgres? Postgres { get; private set; }

    public MockKafkaCluster? Kafka { get; private set; }

    /// <summary>A throwaway device CA folder (deleted at exit), when neither DeviceCaDirectory nor a data directory was given.</summary>
    public string? ThrowawayDeviceCa { get; private set; }

    /// <summary>Settings that point the app at what was started.</summary>
    public Dictionary<string, string?> Settings { get; } = [];

    public static async Task<EmbeddedStack> StartMissingAsync(IConfiguration configuration, TextWriter output, string? dataDirectory, CancellationToken cancellationToken, bool development = true)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(output);
        var stack = new EmbeddedStack();
        try
        {
            if (string.IsNullOrWhiteSpace(configuration["TimescaleConnection"]))
            {
                output.WriteLine(dataDirectory is null
                    ? "TimescaleConnection is not set: starting an embedded PostgreSQL from this machine's binaries (development only)..."
                    : $"TimescaleConnection is not set: starting an embedded PostgreSQL from this machine's binaries in {dataDirectory} (development only)...");
                stack.Postgres = await EmbeddedPostgres.StartAsync(dataDirectory, cancellationToken: cancellationToken);
                stack.Settings["TimescaleConnection"] = stack.Postgres.ConnectionString;
            }

            if (string.IsNullOrWhiteSpace(configuration["KafkaBrokerList"]))
            {
                output.WriteLine("KafkaBrokerList is not set: starting librdkafka's in-memory MOCK Kafka cluster (development only: data lives in memory,");
                output.WriteLine("  each partition keeps only ~5 MiB and silently drops older messages).");
                stack.Kafka = MockKafkaCluster.Start(brokers: 1);
                var partitions = int.TryParse(configuration["MockTopicPartitions"], out var p) ? p : 4;
                var deadLetterSuffix = configuration[$"{FunctionsHostOptions.SectionName}:extensions:kafka:deadLetterSuffix"] is { Length: > 0 } suffix
                    ? suffix
                    : new KafkaExtensionOptions().DeadLetterSuffix;
                foreach (var setting in new[] { "RawTopic", "RealtimeTopic", "HistoricalTopic" })
                {
                    var topic = configuration[setting] ?? SensorPipelineApp.Defaults[setting]!;
                    stack.Kafka.CreateTopic(topic, partitions);
                    stack.Kafka.CreateTopic(topic + deadLetterSuffix, 1);
                }

                stack.Settings["KafkaBrokerList"] = stack.Kafka.BootstrapServers;
                if (string.IsNullOrWhiteSpace(configuration["KafkaGroupProtocol"]))
                {
                    // KIP-848 assigns partitions in a fraction of a second on the mock.
                    stack.Settings["KafkaGroupProtocol"] = "consumer";
                }
            }

            if (string.IsNullOrWhiteSpace(configuration["DeviceCaDirectory"]))
            {
                // Beside a kept database (./.data/pg -> ./.data/device-ca): enrolled devices keep
                // working across runs only when both are kept.
                if (dataDirectory is not null)
                {
                    stack.Settings["DeviceCaDirectory"] = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dataDirectory).TrimEnd(Path.DirectorySeparatorChar))!, "device-ca");
                }
                else if (development)
                {
                    // Outside Development the device doors stay off rather than trust a CA that
                    // dies with the process (and differs per replica).
                    stack.ThrowawayDeviceCa = Path.Combine(Path.GetTempPath(), "sensorpipeline-device-ca-" + Guid.NewGuid().ToString("N")[..8]);
                    stack.Settings["DeviceCaDirectory"] = stack.ThrowawayDeviceCa;
                }
            }

            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (ThrowawayDeviceCa is not null && Directory.Exists(ThrowawayDeviceCa))
        {
            Directory.Delete(ThrowawayDeviceCa, recursive: true);
        }

        Kafka?.Dispose();
        Kafka = null;
        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
            Postgres = null;
        }
    }
}
