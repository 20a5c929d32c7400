using System.Diagnostics;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Domain.Storage;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Worker.Extensions.Kafka;
using SensorPipeline.Functions.Calibrate;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// Stores raw readings (idempotently, raw is immutable) with the ledger rows of the payloads they
/// came in (same statement: never a reading without its payload row) and, only after that commit, publishes
/// every reading of the batch that has no calibrated value for realtime calibration. The trace of
/// each reading's request goes on with its calibration message: per request trace in the batch, a
/// publish activity in that trace (linked to this invocation) is the parent the message carries.
/// </summary>
public sealed class PersistRawReadings(RawReadingStore store, KafkaPublisher publisher, IOptions<PipelineOptions> options)
{
    [Function(nameof(PersistRawReadings))]
    public async Task RunAsync(
        [KafkaTrigger("%KafkaBrokerList%", "%RawTopic%", ConsumerGroup = "%PersistRawGroup%", IsBatched = true, LagThreshold = 4000)]
        RawReadingMessage[] batch,
        FunctionContext context,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(context);
        var stored = await store.InsertAsync(batch, static n => PipelineTelemetry.ReadingsConflicting.Add(n), cancellationToken);
        PipelineTelemetry.ReadingsPersisted.Add(batch.Length);

        var invocation = Activity.Current;
        var publishActivities = new List<Activity>();
        try
        {
            var requests = new CalibrationRequest[stored.Count];
            for (var i = 0; i < stored.Count; i++)
            {
                requests[i] = stored[i].Request;
            }

            var traceParents = TraceParents(stored, KafkaTriggerMetadata.HeaderValues(context, KafkaTracing.TraceParentHeader, batch.Length), invocation, publishActivities);
            await publisher.PublishAsync(options.Value.RealtimeTopic, CalibrationMessages.From(requests, traceParents), cancellationToken);
        }
        finally
        {
            foreach (var activity in publishActivities)
            {
                activity.Dispose();
            }

            Activity.Current = invocation;
        }
    }

    /// <summary>
    /// The traceparent each calibration message carries: a publish activity in the trace of the
    /// request its reading came with (one per trace; the reading's message header, found by its
    /// position in the batch), else this invocation's own context.
    /// </summary>
    private static string?[] TraceParents(
        IReadOnlyList<StoredReading> stored,
        string?[] messageTraceParents,
        Activity? invocation,
        List<Activity> started)
    {
        var own = KafkaTracing.TraceParentOf(invocation);
        var publishers = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new string?[stored.Count];
        for (var i = 0; i < stored.Count; i++)
        {
            if (messageTraceParents[stored[i].Index] is not { } origin)
            {
                result[i] = own;
                continue;
            }

            if (!publishers.TryGetValue(origin, out var publisherId))
            {
                publisherId = origin;
                if (ActivityContext.TryParse(origin, null, isRemote: true, out var parent))
                {
                    var links = invocation is null ? null : new[] { new ActivityLink(invocation.Context) };
                    var activity = PipelineTracing.Ingest.StartActivity("PersistRawReadings publish", ActivityKind.Producer, parent, links: links);
                    if (activity is not null)
                    {
                        started.Add(activity);
                        publisherId = KafkaTracing.TraceParentOf(activity) ?? origin;
                    }
                }

                publishers[origin] = publisherId;
            }

            result[i] = publisherId;
        }

        return result;
    }
}
