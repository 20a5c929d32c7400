using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Domain.Storage;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Worker.Extensions.Kafka;
using SensorPipeline.Functions.Runtime.Kafka;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// Stores raw readings (idempotently, raw is immutable) and, only after that commit, publishes
/// every reading of the batch that has no calibrated value for realtime calibration. The trace of
/// each reading's request goes on with its calibration message: per request trace in the batch, a
/// publish activity in that trace (linked to this invocation) is the parent the message carries.
/// </summary>
public sealed class PersistRawReadings(RawReadingStore store, KafkaPublisher publisher, IOptions<PipelineOptions> options)
{
    [Function(nameof(PersistRawReadings))]
    public async Task RunAsync(
        [KafkaTrigger("%KafkaBrokerList%", "%RawTopic%", ConsumerGroup = "%PersistRawGroup%", IsBatched = true)]
        RawReadingMessage[] batch,
        FunctionContext context,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(context);
        var toCalibrate = await store.InsertAsync(batch, cancellationToken);
        PipelineTelemetry.ReadingsPersisted.Add(batch.Length);

        var invocation = Activity.Current;
        var publishActivities = new List<Activity>();
        try
        {
            var messages = ToMessages(toCalibrate, TraceParents(batch, KafkaTriggerMetadata.HeaderValues(context, KafkaTracing.TraceParentHeader, batch.Length), toCalibrate, invocation, publishActivities));
            await publisher.PublishAsync(options.Value.RealtimeTopic, messages, cancellationToken);
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

    internal static OutgoingMessage[] ToMessages(IReadOnlyList<CalibrationRequest> requests) => ToMessages(requests, null);

    private static OutgoingMessage[] ToMessages(IReadOnlyList<CalibrationRequest> requests, string?[]? traceParents)
    {
        var messages = new OutgoingMessage[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            messages[i] = new OutgoingMessage(
                requests[i].RawDataId.ToString(CultureInfo.InvariantCulture),
                JsonSerializer.SerializeToUtf8Bytes(requests[i], PipelineJsonContext.Default.CalibrationRequest),
                traceParents?[i] is { } traceParent ? [new(KafkaTracing.TraceParentHeader, traceParent)] : null);
        }

        return messages;
    }

    /// <summary>
    /// The traceparent each calibration message carries: a publish activity in the trace of the
    /// request its reading came with (one per trace), else this invocation's own context.
    /// </summary>
    private static string?[] TraceParents(
        RawReadingMessage[] batch,
        string?[] messageTraceParents,
        IReadOnlyList<CalibrationRequest> requests,
        Activity? invocation,
        List<Activity> started)
    {
        var origins = new Dictionary<(string SensorId, long Micros), string>();
        for (var i = 0; i < batch.Length; i++)
        {
            if (messageTraceParents[i] is { } traceParent)
            {
                origins[(batch[i].SensorId, Micros(batch[i].RecordedAt))] = traceParent;
            }
        }

        var own = KafkaTracing.TraceParentOf(invocation);
        var publishers = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new string?[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            if (!origins.TryGetValue((requests[i].SensorId, Micros(requests[i].RecordedAt)), out var origin))
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

    /// <summary>Microseconds since the epoch, rounded as PostgreSQL stores a timestamptz.</summary>
    private static long Micros(DateTimeOffset value) =>
        (long)Math.Round((value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10.0, MidpointRounding.ToEven);
}
