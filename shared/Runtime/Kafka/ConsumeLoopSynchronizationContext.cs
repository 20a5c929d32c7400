using System.Collections.Concurrent;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// Runs an async consume loop on the calling (dedicated) thread: every continuation the loop
/// awaits comes back to this thread, so the blocking Confluent calls (<c>Consume</c>, which has no
/// async form) stay off the thread pool while invocations are awaited, not blocked on.
/// </summary>
internal sealed class ConsumeLoopSynchronizationContext : SynchronizationContext, IDisposable
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = [];

    public static void Run(Func<Task> loop)
    {
        var previous = Current;
        using var context = new ConsumeLoopSynchronizationContext();
        SetSynchronizationContext(context);
        try
        {
            var task = loop();
            task.ContinueWith(_ => context._queue.CompleteAdding(), TaskScheduler.Default);
            foreach (var (callback, state) in context._queue.GetConsumingEnumerable())
            {
                callback(state);
            }

            task.GetAwaiter().GetResult();
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }

    public override void Post(SendOrPostCallback d, object? state) => _queue.Add((d, state));

    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("A consume loop does not take synchronous calls from other threads.");

    public override SynchronizationContext CreateCopy() => this;

    public void Dispose() => _queue.Dispose();
}
