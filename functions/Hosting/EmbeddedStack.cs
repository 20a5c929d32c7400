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

    /// <summary>Settings that point the app at what was started.</summary>
    public Dictionary<string, string?> Settings { get; } = [];

    public static async Task<EmbeddedStack> StartMissingAsync(IConfiguration configuration, TextWriter output, string? dataDirectory, CancellationToken cancellationToken)
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
        Kafka?.Dispose();
        Kafka = null;
        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
            Postgres = null;
        }
    }
}
