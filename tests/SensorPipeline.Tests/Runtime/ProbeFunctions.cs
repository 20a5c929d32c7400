using System.Collections.Concurrent;
using System.Text.Json;
using SensorPipeline.Runtime;

namespace SensorPipeline.Tests.Runtime;

/// <summary>A message whose <see cref="Kind"/> tells the probe function how to behave.</summary>
public sealed record ProbeMessage(string Run, int Id, string Kind);

/// <summary>What the probe functions saw and how they should behave, per test run.</summary>
public sealed class ProbeState
{
    private static readonly ConcurrentDictionary<string, ProbeState> Runs = new();

    public static ProbeState For(string run) => Runs.GetOrAdd(run, _ => new ProbeState());

    public ConcurrentQueue<int> Processed { get; } = new();

    /// <summary>What each invocation's FunctionContext said (invocation id, function, retry, trigger metadata).</summary>
    public ConcurrentQueue<SeenContext> Contexts { get; } = new();

    public int Invocations;

    /// <summary>Invocations (of any message) that fail before the function starts succeeding.</summary>
    public int FailFirstInvocations;

    /// <summary>The dependency is "down" until then.</summary>
    public DateTime OutageUntil { get; set; } = DateTime.MinValue;

    /// <summary>While set, an invocation waits for cancellation (an in-flight batch at shutdown).</summary>
    public volatile bool Block;

    public readonly TaskCompletionSource Entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How long each invocation takes (a slow consumer builds lag).</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>When each message was processed, for ordering and rate checks.</summary>
    public ConcurrentQueue<(int Id, DateTime At)> Timeline { get; } = new();

    public async Task HandleAsync(IReadOnlyList<ProbeMessage> batch, CancellationToken cancellationToken)
    {
        var invocation = Interlocked.Increment(ref Invocations);
        Entered.TrySetResult();
        if (Block)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken);
        }

        if (DateTime.UtcNow < OutageUntil)
        {
            throw new DependencyUnavailableException("probe database is down");
        }

        if (invocation <= FailFirstInvocations)
        {
            throw new InvalidOperationException($"probe failure {invocation}");
        }

        if (batch.FirstOrDefault(m => m.Kind == "poison") is { } poison)
        {
            throw new InvalidOperationException($"poison reading {poison.Id}");
        }

        foreach (var message in batch)
        {
            Processed.Enqueue(message.Id);
            Timeline.Enqueue((message.Id, DateTime.UtcNow));
        }
    }
}

/// <summary>A FunctionContext as a probe saw it.</summary>
public sealed record SeenContext(
    string InvocationId,
    string FunctionName,
    int RetryCount,
    int MaxRetryCount,
    IReadOnlyDictionary<string, object?> BindingData,
    bool ServicesResolve);

public sealed class ProbeFunctions
{
    [Function("ProbeBatched")]
    public Task BatchedAsync(
        [KafkaTrigger("%KafkaBrokerList%", "%ProbeTopic%", ConsumerGroup = "%ProbeGroup%", IsBatched = true)] ProbeMessage[] batch,
        FunctionContext context,
        CancellationToken cancellationToken)
    {
        if (batch.Length == 0)
        {
            return Task.CompletedTask;
        }

        var state = ProbeState.For(batch[0].Run);
        state.Contexts.Enqueue(new SeenContext(
            context.InvocationId,
            context.FunctionDefinition.Name,
            context.RetryContext.RetryCount,
            context.RetryContext.MaxRetryCount,
            context.BindingContext.BindingData,
            context.InstanceServices.GetService(typeof(ProbeState)) is null && context.InstanceServices.GetService(typeof(TimeProvider)) is not null));
        return state.HandleAsync(batch, cancellationToken);
    }

    [Function("ProbeLowPriority")]
    public Task LowPriorityAsync(
        [KafkaTrigger("%KafkaBrokerList%", "%ProbeTopic2%", ConsumerGroup = "%ProbeGroup%", IsBatched = true)] ProbeMessage[] batch,
        CancellationToken cancellationToken) =>
        batch.Length == 0 ? Task.CompletedTask : ProbeState.For(batch[0].Run).HandleAsync(batch, cancellationToken);

    [Function("ProbeSingle")]
    public Task SingleAsync(
        [KafkaTrigger("%KafkaBrokerList%", "%ProbeTopic%", ConsumerGroup = "%ProbeGroup%")] ProbeMessage message,
        FunctionContext context,
        CancellationToken cancellationToken)
    {
        // Single-message metadata: the key and the rest without the Array suffix.
        Assert.IsType<string>(context.BindingContext.BindingData["Key"]);
        Assert.IsType<long>(context.BindingContext.BindingData["Offset"]);
        return ProbeState.For(message.Run).HandleAsync([message], cancellationToken);
    }

    /// <summary>Its own retry policy (the Worker's attribute) instead of host.json's.</summary>
    [Function("ProbeFixedRetry")]
    [FixedDelayRetry(4, "00:00:00.010")]
    public Task FixedRetryAsync(
        [KafkaTrigger("%KafkaBrokerList%", "%ProbeTopic%", ConsumerGroup = "%ProbeGroup%", IsBatched = true)] ProbeMessage[] batch,
        FunctionContext context,
        CancellationToken cancellationToken) => BatchedAsync(batch, context, cancellationToken);

    /// <summary>Forwards each message's id to <c>%ProbeOutTopic%</c> through the output binding.</summary>
    [Function("ProbeForward")]
    [KafkaOutput("%KafkaBrokerList%", "%ProbeOutTopic%")]
    public string[] Forward(
        [KafkaTrigger("%KafkaBrokerList%", "%ProbeTopic%", ConsumerGroup = "%ProbeGroup%", IsBatched = true)] string[] batch) =>
        batch.Select(m => "forwarded:" + JsonSerializer.Deserialize<ProbeMessage>(m, JsonSerializerOptions.Web)!.Id).ToArray();
}
