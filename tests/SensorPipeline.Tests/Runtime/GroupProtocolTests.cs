using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SensorPipeline.Runtime.Embedded;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Runtime;

/// <summary>
/// A consumer whose group protocol the cluster does not support, on the Kafka protocol: a mock
/// cluster that withdraws ConsumerGroupHeartbeat (API 68) looks like a broker before Kafka 4.0.
/// With KafkaGroupProtocol=consumer the host refuses to start when it can ask the broker, and
/// reports the consumer as stalled, naming the setting, when it could not ask at start.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class GroupProtocolTests
{
    private static (IHost Host, TestLogs Logs) BuildHost(string bootstrap, string protocol, string topic, string group)
    {
        var logs = new TestLogs();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Development, DisableDefaults = true });
        builder.Logging.AddProvider(logs);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["KafkaBrokerList"] = bootstrap,
            ["KafkaGroupProtocol"] = protocol,
            ["KafkaStallTimeout"] = "00:00:02",
            ["ProbeTopic"] = topic,
            ["ProbeGroup"] = group,
            ["AzureFunctionsJobHost:functions:0"] = "ProbeBatched",
        });
        builder.AddFunctionsRuntime(typeof(ProbeFunctions).Assembly);
        return (builder.Build(), logs);
    }

    private static async Task ProduceAsync(string bootstrap, string topic, string run, int count) =>
        await KafkaTestClient.ProduceAsync(bootstrap, topic, Enumerable.Range(0, count)
            .Select(i => ((string?)("k" + i), JsonSerializer.SerializeToUtf8Bytes(new ProbeMessage(run, i, "ok"), JsonSerializerOptions.Web))));

    [Fact]
    public async Task Consumer_protocol_against_a_cluster_without_it_refuses_to_start_and_classic_consumes()
    {
        using var cluster = MockKafkaCluster.Start(brokers: 1);
        cluster.SetApiVersion(MockKafkaCluster.ConsumerGroupHeartbeatApiKey, -1, -1);
        cluster.CreateTopic("protocol.refused", 2);
        var run = Guid.NewGuid().ToString("N");
        await ProduceAsync(cluster.BootstrapServers, "protocol.refused", run, 20);

        var (refused, logs) = BuildHost(cluster.BootstrapServers, "consumer", "protocol.refused", "group-" + run[..8]);
        using (refused)
        {
            var error = await Assert.ThrowsAsync<KafkaGroupProtocolUnsupportedException>(() => refused.StartAsync());
            Assert.Contains("does not support the consumer group protocol", error.Message, StringComparison.Ordinal);
            Assert.Contains("ConsumerGroupHeartbeat (API 68)", error.Message, StringComparison.Ordinal);
            Assert.Contains($"ProbeBatched (group group-{run[..8]})", error.Message, StringComparison.Ordinal);
            Assert.Contains("Set KafkaGroupProtocol=classic", error.Message, StringComparison.Ordinal);
            Assert.Contains(logs.At(LogLevel.Critical), l => l.Contains("Set KafkaGroupProtocol=classic", StringComparison.Ordinal));
        }

        // The same cluster with the classic protocol: the consumer joins and processes everything.
        var (classic, _) = BuildHost(cluster.BootstrapServers, "classic", "protocol.refused", "group-" + run[..8]);
        using (classic)
        {
            await classic.StartAsync();
            await Eventually.WaitForAsync(() => Task.FromResult(ProbeState.For(run).Processed.Distinct().Count()), n => n == 20, TimeSpan.FromSeconds(60), "20 messages processed with classic");
            var health = Assert.Single(classic.Services.GetRequiredService<ConsumerHealth>().Current(), s => s.Function == "ProbeBatched");
            Assert.False(health.Stalled);
            Assert.Equal(2, health.PartitionsAssigned);
            await classic.StopAsync();
        }
    }

    [Fact]
    public async Task Consumer_that_cannot_join_is_reported_stalled_with_the_clusters_answer_when_start_could_not_ask()
    {
        using var cluster = MockKafkaCluster.Start(brokers: 1);
        cluster.SetApiVersion(MockKafkaCluster.ConsumerGroupHeartbeatApiKey, -1, -1);
        cluster.CreateTopic("protocol.stalled", 2);
        var run = Guid.NewGuid().ToString("N");
        await ProduceAsync(cluster.BootstrapServers, "protocol.stalled", run, 5);

        // The broker is down while the host starts: the start-up check cannot ask it and lets the host start.
        cluster.SetBrokerDown(1);
        var (host, logs) = BuildHost(cluster.BootstrapServers, "consumer", "protocol.stalled", "group-" + run[..8]);
        using (host)
        {
            await host.StartAsync();
            Assert.Contains(logs.At(LogLevel.Warning), l => l.Contains("could not ask the cluster", StringComparison.Ordinal));
            cluster.SetBrokerUp(1);

            var health = host.Services.GetRequiredService<ConsumerHealth>();
            var stalled = await Eventually.WaitForAsync(
                () => Task.FromResult(health.Current().SingleOrDefault(s => s.Function == "ProbeBatched")),
                s => s is { Stalled: true } && s.Reason!.Contains("API 68", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "ProbeBatched reported stalled with the cluster's answer");
            Assert.Equal(0, stalled!.PartitionsAssigned);
            Assert.Contains("never assigned a partition by group group-" + run[..8] + " with KafkaGroupProtocol=consumer", stalled.Reason, StringComparison.Ordinal);
            Assert.Contains("set KafkaGroupProtocol=classic", stalled.Reason, StringComparison.Ordinal);
            Assert.Contains(logs.At(LogLevel.Error), l => l.Contains("ProbeBatched (group group-" + run[..8] + ") is stalled", StringComparison.Ordinal) && l.Contains("KafkaGroupProtocol=classic", StringComparison.Ordinal));
            Assert.Empty(ProbeState.For(run).Processed);
            await host.StopAsync();
        }
    }
}
