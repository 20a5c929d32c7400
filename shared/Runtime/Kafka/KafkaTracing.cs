using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// W3C trace context across Kafka: a producer puts the <c>traceparent</c> of its activity in a
/// message header; the Kafka trigger starts one activity per invocation that, for a batch, links
/// to the trace of each message (a batch belongs to many traces), and for a single message is its
/// child. A message without the header starts a new trace.
/// </summary>
public static class KafkaTracing
{
    public const string TraceParentHeader = "traceparent";
    public const string TraceStateHeader = "tracestate";

    /// <summary>The trace context a message carries, if it carries a valid one.</summary>
    public static bool TryGetContext(Headers? headers, out ActivityContext context)
    {
        context = default;
        if (headers is null || !headers.TryGetLastBytes(TraceParentHeader, out var parent))
        {
            return false;
        }

        string? state = headers.TryGetLastBytes(TraceStateHeader, out var stateBytes) ? Encoding.UTF8.GetString(stateBytes) : null;
        return ActivityContext.TryParse(Encoding.UTF8.GetString(parent), state, isRemote: true, out context);
    }

    /// <summary>The <c>traceparent</c> header value of an activity (W3C ids only), or null.</summary>
    public static string? TraceParentOf(Activity? activity) =>
        activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id : null;

    /// <summary>Starts the activity of one invocation of a Kafka-triggered function; null when nobody listens.</summary>
    internal static Activity? StartInvocation(FunctionDescriptor function, string topic, string group, IReadOnlyList<(ConsumeResult<byte[], byte[]> Record, object Value)> records, bool batched)
    {
        var source = FunctionInvoker.ActivitySource;
        if (!source.HasListeners())
        {
            return null;
        }

        // The consume loop's thread carries no request: the invocation's trace comes from its messages only.
        Activity.Current = null;
        var tags = new ActivityTagsCollection
        {
            ["messaging.system"] = "kafka",
            ["messaging.operation.type"] = "process",
            ["messaging.destination.name"] = topic,
            ["messaging.consumer.group.name"] = group,
            ["messaging.batch.message_count"] = records.Count,
            ["faas.name"] = function.Name,
            ["faas.trigger"] = "pubsub",
        };
        var name = $"{function.Name} process";
        if (!batched)
        {
            // One message: the invocation continues the message's trace (or starts one).
            TryGetContext(records[0].Record.Message.Headers, out var parent);
            return source.StartActivity(name, ActivityKind.Consumer, parent, tags);
        }

        var seen = new HashSet<(ActivityTraceId, ActivitySpanId)>();
        var links = new List<ActivityLink>();
        foreach (var (record, _) in records)
        {
            if (TryGetContext(record.Message.Headers, out var context) && seen.Add((context.TraceId, context.SpanId)))
            {
                links.Add(new ActivityLink(context));
            }
        }

        // A batch belongs to many traces: a trace of its own, linked to each message's.
        return source.StartActivity(name, ActivityKind.Consumer, default(ActivityContext), tags, links);
    }

    internal static void Failed(Activity? activity, Exception error)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, error.Message);
        activity.AddException(error);
    }
}
