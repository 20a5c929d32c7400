using System.Text;
using Confluent.Kafka;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>Headers a dead-lettered message carries.</summary>
public static class DeadLetterHeaders
{
    public const string Prefix = "x-deadletter-";
    public const string Reason = "x-deadletter-reason";
    public const string ExceptionType = "x-deadletter-exception";
    public const string Function = "x-deadletter-function";
    public const string Attempts = "x-deadletter-attempts";
    public const string OriginalTopic = "x-deadletter-original-topic";
    public const string OriginalPartition = "x-deadletter-original-partition";
    public const string OriginalOffset = "x-deadletter-original-offset";
    public const string DeadLetteredAt = "x-deadletter-at";

    /// <summary>
    /// A message's headers as text, without the <c>x-deadletter-*</c> ones: what a dead letter
    /// carries of its original, and what a replay sends on again.
    /// </summary>
    public static List<KeyValuePair<string, string>> CopyOriginal(Headers? headers)
    {
        var copy = new List<KeyValuePair<string, string>>();
        if (headers is null)
        {
            return copy;
        }

        foreach (var h in headers)
        {
            if (!h.Key.StartsWith(Prefix, StringComparison.Ordinal))
            {
                copy.Add(new(h.Key, Encoding.UTF8.GetString(h.GetValueBytes() ?? [])));
            }
        }

        return copy;
    }
}
