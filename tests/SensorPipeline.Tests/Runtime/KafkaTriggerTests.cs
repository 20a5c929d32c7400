using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Runtime;

/// <summary>
/// The Kafka trigger's delivery promises, on the Kafka protocol: offsets stored only after
/// success, bounded retries, poison isolated and dead-lettered with its reason, outages waited out,
/// in-flight work at shutdown left uncommitted.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class KafkaTriggerTests(TestServers servers)
{
    private sealed record Probe(string Run, string Topic, string Group, ProbeState State);

    private async Task<Probe> NewProbeAsync()
    {
        var run = Guid.NewGuid().ToString("N");
        var topic = await servers.CreateTopicAsync("probe", partitions: 3);
        await servers.CreateExactTopicAsync(topic + ".deadletter", 1);
        return new Probe(run, topic, "probe-" + run[..8], ProbeState.For(run));
    }

    private async Task<IHost> StartHostAsync(Probe probe, string function, int maxRetries = 2, Dictionary<string, string?>? extra = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Development, DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["KafkaBrokerList"] = servers.KafkaBootstrapServers,
            ["KafkaGroupProtocol"] = servers.GroupProtocol,
            ["ProbeTopic"] = probe.Topic,
            ["ProbeGroup"] = probe.Group,
            ["AzureFunctionsJobHost:functions:0"] = function,
            ["AzureFunctionsJobHost:extensions:kafka:maxBatchSize"] = "50",
            ["AzureFunctionsJobHost:extensions:kafka:maxRetries"] = maxRetries.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AzureFunctionsJobHost:extensions:kafka:retryInitialDelay"] = "00:00:00.020",
            ["AzureFunctionsJobHost:extensions:kafka:retryMaxDelay"] = "00:00:00.200",
        });
        if (extra is not null)
        {
            builder.Configuration.AddInMemoryCollection(extra);
        }

        builder.AddFunctionsRuntime(typeof(ProbeFunctions).Assembly);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private async Task ProduceAsync(Probe probe, IEnumerable<ProbeMessage> messages) =>
        await KafkaTestClient.ProduceAsync(servers.KafkaBootstrapServers, probe.Topic,
            messages.Select(m => ((string?)("k" + m.Id), JsonSerializer.SerializeToUtf8Bytes(m, JsonSerializerOptions.Web))));

    private static IEnumerable<ProbeMessage> Messages(Probe probe, int count, Func<int, string>? kind = null) =>
        Enumerable.Range(0, count).Select(i => new ProbeMessage(probe.Run, i, kind?.Invoke(i) ?? "ok"));

    private Task WaitCommittedAsync(Probe probe, long expected) =>
        Eventually.WaitForAsync(
            () => Task.FromResult(KafkaTestClient.CommittedTotal(servers.KafkaBootstrapServers, probe.Topic, probe.Group)),
            n => n == expected, TimeSpan.FromSeconds(30), $"{expected} committed offsets");

    [Fact]
    public async Task Failing_message_is_dead_lettered_with_its_reason_and_its_neighbours_are_processed()
    {
        var probe = await NewProbeAsync();
        await ProduceAsync(probe, Messages(probe, 200, i => i == 77 ? "poison" : "ok"));
        using var host = await StartHostAsync(probe, "ProbeBatched", maxRetries: 2);

        await WaitCommittedAsync(probe, 200);
        await host.StopAsync();

        Assert.Equal(Enumerable.Range(0, 200).Where(i => i != 77), probe.State.Processed.Distinct().Order());
        var dead = KafkaTestClient.ReadAll(servers.KafkaBootstrapServers, probe.Topic + ".deadletter", 2, TimeSpan.FromSeconds(3));
        var letter = Assert.Single(dead);
        Assert.Equal(77, JsonSerializer.Deserialize<ProbeMessage>(letter.Message.Value, JsonSerializerOptions.Web)!.Id);
        Assert.Equal("k77", System.Text.Encoding.UTF8.GetString(letter.Message.Key));
        Assert.Contains("poison reading 77", KafkaTestClient.Header(letter, DeadLetterHeaders.Reason), StringComparison.Ordinal);
        Assert.Equal("ProbeBatched", KafkaTestClient.Header(letter, DeadLetterHeaders.Function));
        Assert.Equal("3", KafkaTestClient.Header(letter, DeadLetterHeaders.Attempts));
        Assert.Equal(probe.Topic, KafkaTestClient.Header(letter, DeadLetterHeaders.OriginalTopic));
    }

    [Fact]
    public async Task Undecodable_message_is_dead_lettered_at_once_and_the_rest_flow()
    {
        var probe = await NewProbeAsync();
        await ProduceAsync(probe, Messages(probe, 10));
        await KafkaTestClient.ProduceAsync(servers.KafkaBootstrapServers, probe.Topic, [("garbage", "{not json"u8.ToArray())]);
        await ProduceAsync(probe, Messages(probe, 10).Select(m => m with { Id = m.Id + 10 }));
        using var host = await StartHostAsync(probe, "ProbeBatched");

        await WaitCommittedAsync(probe, 21);
        await host.StopAsync();

        Assert.Equal(Enumerable.Range(0, 20), probe.State.Processed.Distinct().Order());
        var letter = Assert.Single(KafkaTestClient.ReadAll(servers.KafkaBootstrapServers, probe.Topic + ".deadletter", 2, TimeSpan.FromSeconds(3)));
        Assert.Equal("{not json", System.Text.Encoding.UTF8.GetString(letter.Message.Value));
        Assert.Contains("JsonException", KafkaTestClient.Header(letter, DeadLetterHeaders.ExceptionType), StringComparison.Ordinal);
        Assert.Equal("0", KafkaTestClient.Header(letter, DeadLetterHeaders.Attempts));
    }

    [Fact]
    public async Task Dependency_outage_is_waited_out_without_dead_lettering_or_losing_messages()
    {
        var probe = await NewProbeAsync();
        probe.State.OutageUntil = DateTime.UtcNow.AddSeconds(4);
        await ProduceAsync(probe, Messages(probe, 60));
        using var host = await StartHostAsync(probe, "ProbeBatched", maxRetries: 1);

        await WaitCommittedAsync(probe, 60);
        await host.StopAsync();

        Assert.True(probe.State.Invocations > 3, $"expected the outage to cause retries, saw {probe.State.Invocations} invocations");
        Assert.Equal(Enumerable.Range(0, 60), probe.State.Processed.Distinct().Order());
        Assert.Empty(KafkaTestClient.ReadAll(servers.KafkaBootstrapServers, probe.Topic + ".deadletter", 1, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task Failure_that_clears_within_the_retries_dead_letters_nothing()
    {
        var probe = await NewProbeAsync();
        probe.State.FailFirstInvocations = 2;
        await ProduceAsync(probe, Messages(probe, 30));
        using var host = await StartHostAsync(probe, "ProbeBatched", maxRetries: 3);

        await WaitCommittedAsync(probe, 30);
        await host.StopAsync();

        Assert.Equal(Enumerable.Range(0, 30), probe.State.Processed.Distinct().Order());
        Assert.Empty(KafkaTestClient.ReadAll(servers.KafkaBootstrapServers, probe.Topic + ".deadletter", 1, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task Batch_in_flight_at_shutdown_is_not_committed_and_the_next_instance_processes_it()
    {
        var probe = await NewProbeAsync();
        probe.State.Block = true;
        await ProduceAsync(probe, Messages(probe, 20));
        var first = await StartHostAsync(probe, "ProbeBatched");
        await probe.State.Entered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await first.StopAsync();
        first.Dispose();

        Assert.Equal(0, KafkaTestClient.CommittedTotal(servers.KafkaBootstrapServers, probe.Topic, probe.Group));
        Assert.Empty(probe.State.Processed);

        probe.State.Block = false;
        using var second = await StartHostAsync(probe, "ProbeBatched");
        await WaitCommittedAsync(probe, 20);
        await second.StopAsync();
        Assert.Equal(Enumerable.Range(0, 20), probe.State.Processed.Distinct().Order());
    }

    [Fact]
    public async Task Single_message_trigger_binds_the_record_with_its_key_and_processes_every_message()
    {
        var probe = await NewProbeAsync();
        await ProduceAsync(probe, Messages(probe, 15, i => i == 3 ? "poison" : "ok"));
        using var host = await StartHostAsync(probe, "ProbeSingle", maxRetries: 1);

        await WaitCommittedAsync(probe, 15);
        await host.StopAsync();

        Assert.Equal(Enumerable.Range(0, 15).Where(i => i != 3), probe.State.Processed.Distinct().Order());
        var letter = Assert.Single(KafkaTestClient.ReadAll(servers.KafkaBootstrapServers, probe.Topic + ".deadletter", 2, TimeSpan.FromSeconds(3)));
        Assert.Equal("2", KafkaTestClient.Header(letter, DeadLetterHeaders.Attempts));
    }

    [Fact]
    public async Task Low_priority_function_waits_while_the_one_it_yields_to_has_lag()
    {
        var high = await NewProbeAsync();
        var low = await NewProbeAsync() with { Group = high.Group + "-low" };
        high.State.Delay = TimeSpan.FromMilliseconds(60);
        await ProduceAsync(high, Messages(high, 300));
        using var host = await StartHostAsync(high, "ProbeBatched", extra: new()
        {
            ["AzureFunctionsJobHost:functions:1"] = "ProbeLowPriority",
            ["ProbeTopic2"] = low.Topic,
            ["AzureFunctionsJobHost:extensions:kafka:maxBatchSize"] = "10",
            ["AzureFunctionsJobHost:extensions:kafka:throttle:ProbeLowPriority:yieldTo:0"] = "ProbeBatched",
            ["AzureFunctionsJobHost:extensions:kafka:throttle:ProbeLowPriority:yieldLagThreshold"] = "20",
        });
        await high.State.Entered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await Eventually.WaitForAsync(() => Task.FromResult(high.State.Processed.Count), n => n >= 20, TimeSpan.FromSeconds(20), "the high-priority function to report lag");
        var reported = host.Services.GetRequiredService<SensorPipeline.Runtime.Kafka.ConsumerLagRegistry>().LagOf("ProbeBatched");
        Assert.True(reported > 20, $"lag reported: {reported}");
        await ProduceAsync(low, Messages(low, 50));

        await Eventually.WaitForAsync(() => Task.FromResult(low.State.Processed.Distinct().Count()), n => n == 50, TimeSpan.FromSeconds(60), "the low-priority messages");
        // The low-priority function may start with up to 20 high-priority messages still to do and
        // finish its 50 before they are: wait for both before stopping.
        await Eventually.WaitForAsync(() => Task.FromResult(high.State.Processed.Distinct().Count()), n => n == 300, TimeSpan.FromSeconds(60), "the high-priority messages");
        await host.StopAsync();

        // While the high-priority function had more than 20 messages of lag, the other processed nothing.
        var firstLow = low.State.Timeline.Min(t => t.At);
        var highDoneBefore = high.State.Timeline.Count(t => t.At <= firstLow);
        Assert.True(highDoneBefore >= 300 - 20 - 10, $"the low-priority function started when only {highDoneBefore} of 300 high-priority messages were done");
        Assert.Equal(Enumerable.Range(0, 300), high.State.Processed.Distinct().Order());
    }

    [Fact]
    public async Task Rate_capped_function_processes_no_faster_than_its_cap()
    {
        var probe = await NewProbeAsync();
        await ProduceAsync(probe, Messages(probe, 300));
        using var host = await StartHostAsync(probe, "ProbeBatched", extra: new()
        {
            ["AzureFunctionsJobHost:extensions:kafka:throttle:ProbeBatched:maxMessagesPerSecond"] = "100",
        });
        await Eventually.WaitForAsync(() => Task.FromResult(probe.State.Processed.Distinct().Count()), n => n == 300, TimeSpan.FromSeconds(30), "300 messages");
        await host.StopAsync();

        var times = probe.State.Timeline.Select(t => t.At).Order().ToList();
        var span = (times[^1] - times[0]).TotalSeconds;
        Assert.True(span >= 1.8, $"300 messages at 100/s took only {span:0.00} s");
    }

    [Fact]
    public async Task Several_consumers_per_function_share_the_partitions_and_process_everything_once_committed()
    {
        var probe = await NewProbeAsync();
        probe.State.Delay = TimeSpan.FromMilliseconds(20);
        await ProduceAsync(probe, Messages(probe, 300));
        using var host = await StartHostAsync(probe, "ProbeBatched", extra: new()
        {
            ["AzureFunctionsJobHost:extensions:kafka:consumersPerFunction"] = "3",
            ["AzureFunctionsJobHost:extensions:kafka:maxBatchSize"] = "20",
        });

        await WaitCommittedAsync(probe, 300);
        await host.StopAsync();
        Assert.Equal(Enumerable.Range(0, 300), probe.State.Processed.Distinct().Order());
    }

    [Fact]
    public async Task Batched_invocation_gets_a_FunctionContext_with_trigger_metadata_and_retry_count()
    {
        var probe = await NewProbeAsync();
        probe.State.FailFirstInvocations = 1;
        await ProduceAsync(probe, Messages(probe, 10));
        using var host = await StartHostAsync(probe, "ProbeBatched", maxRetries: 3);

        await WaitCommittedAsync(probe, 10);
        await host.StopAsync();

        var contexts = probe.State.Contexts.ToList();
        Assert.True(contexts.Count >= 2, $"{contexts.Count} invocations");
        Assert.All(contexts, c => Assert.Equal("ProbeBatched", c.FunctionName));
        Assert.Equal(contexts.Count, contexts.Select(c => c.InvocationId).Distinct().Count());
        Assert.Equal(0, contexts[0].RetryCount);
        Assert.Equal(1, contexts[1].RetryCount);
        Assert.All(contexts, c => Assert.Equal(3, c.MaxRetryCount));
        Assert.All(contexts, c => Assert.True(c.ServicesResolve));
        var offsets = contexts.Skip(1).SelectMany(c => Assert.IsType<long[]>(c.BindingData["OffsetArray"])).ToList();
        Assert.Equal(10, offsets.Count);
        Assert.All(contexts, c => Assert.All(Assert.IsType<string[]>(c.BindingData["TopicArray"]), t => Assert.Equal(probe.Topic, t)));
        Assert.All(contexts, c => Assert.All(Assert.IsType<string[]>(c.BindingData["ConsumerGroupArray"]), g => Assert.Equal(probe.Group, g)));
        Assert.Equal(
            Enumerable.Range(0, 10).Select(i => "k" + i).Order(),
            contexts.Skip(1).SelectMany(c => Assert.IsType<string[]>(c.BindingData["KeyArray"])).Order());
    }

    [Fact]
    public async Task FixedDelayRetry_attribute_sets_the_functions_retries_over_host_json()
    {
        var probe = await NewProbeAsync();
        await ProduceAsync(probe, Messages(probe, 1, _ => "poison"));
        // host.json says 1 retry; the attribute says 4.
        using var host = await StartHostAsync(probe, "ProbeFixedRetry", maxRetries: 1);

        await WaitCommittedAsync(probe, 1);
        await host.StopAsync();

        Assert.Equal(5, probe.State.Invocations);
        var letter = Assert.Single(KafkaTestClient.ReadAll(servers.KafkaBootstrapServers, probe.Topic + ".deadletter", 1, TimeSpan.FromSeconds(3)));
        Assert.Equal("5", KafkaTestClient.Header(letter, DeadLetterHeaders.Attempts));
        Assert.All(probe.State.Contexts, c => Assert.Equal(4, c.MaxRetryCount));
    }

    [Fact]
    public async Task KafkaOutput_return_value_is_published_after_the_function_succeeded()
    {
        var probe = await NewProbeAsync();
        var output = await servers.CreateTopicAsync("probe-out", partitions: 1);
        await ProduceAsync(probe, Messages(probe, 5));
        using var host = await StartHostAsync(probe, "ProbeForward", extra: new() { ["ProbeOutTopic"] = output });

        await WaitCommittedAsync(probe, 5);
        await host.StopAsync();

        var forwarded = KafkaTestClient.ReadAll(servers.KafkaBootstrapServers, output, 5, TimeSpan.FromSeconds(10))
            .Select(m => System.Text.Encoding.UTF8.GetString(m.Message.Value)).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => "forwarded:" + i).Order(), forwarded);
    }
}
