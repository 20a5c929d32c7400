using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Npgsql;
using SensorPipeline.Runtime.Embedded;

namespace SensorPipeline.Tests.Infrastructure;

/// <summary>
/// The real servers the integration tests talk to, one of each per test run. An environment
/// variable points them at an existing server (SENSORPIPELINE_TEST_POSTGRES: an Npgsql connection
/// string; SENSORPIPELINE_TEST_KAFKA: bootstrap servers); without it they start their own: a
/// PostgreSQL cluster from the machine's binaries and librdkafka's mock Kafka cluster. A server
/// that cannot be had fails the tests with the reason; nothing is skipped.
/// </summary>
public sealed class TestServers : IAsyncLifetime
{
    private EmbeddedPostgres? _postgres;

    public string PostgresConnectionString { get; private set; } = "";

    public MockKafkaCluster? MockKafka { get; private set; }

    public string KafkaBootstrapServers { get; private set; } = "";

    /// <summary>"consumer" on the mock (fast assignment), "classic" on a real cluster unless told otherwise.</summary>
    public string GroupProtocol => MockKafka is not null ? "consumer" : Environment.GetEnvironmentVariable("SENSORPIPELINE_TEST_KAFKA_GROUP_PROTOCOL") ?? "classic";

    public async Task InitializeAsync()
    {
        var postgres = Environment.GetEnvironmentVariable("SENSORPIPELINE_TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(postgres))
        {
            try
            {
                _postgres = await EmbeddedPostgres.StartAsync();
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                throw new InvalidOperationException(
                    "The integration tests need PostgreSQL: install the server binaries (Debian: apt-get install postgresql) or set SENSORPIPELINE_TEST_POSTGRES to a connection string. " + e.Message, e);
            }

            postgres = _postgres.ConnectionString;
        }

        PostgresConnectionString = postgres;
        var kafka = Environment.GetEnvironmentVariable("SENSORPIPELINE_TEST_KAFKA");
        if (string.IsNullOrWhiteSpace(kafka))
        {
            MockKafka = MockKafkaCluster.Start(brokers: 1);
            kafka = MockKafka.BootstrapServers;
        }

        KafkaBootstrapServers = kafka;
    }

    public async Task DisposeAsync()
    {
        MockKafka?.Dispose();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    /// <summary>A new, empty database for one test class; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}".ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(PostgresConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"create database \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Database = name, MaxPoolSize = 40 }.ConnectionString;
    }

    /// <summary>Creates a topic with a unique name (so tests never see each other's messages).</summary>
    public async Task<string> CreateTopicAsync(string prefix, int partitions = 4)
    {
        var topic = $"{prefix}.{Guid.NewGuid():N}"[..(prefix.Length + 13)];
        await CreateExactTopicAsync(topic, partitions);
        return topic;
    }

    /// <summary>Creates a topic with exactly this name.</summary>
    public async Task CreateExactTopicAsync(string topic, int partitions)
    {
        if (MockKafka is not null)
        {
            MockKafka.CreateTopic(topic, partitions);
        }
        else
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = KafkaBootstrapServers }).Build();
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = -1 }]);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class IntegrationCollection : ICollectionFixture<TestServers>
{
    public const string Name = "integration";
}
