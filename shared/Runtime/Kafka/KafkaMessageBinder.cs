using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using SensorPipeline.Functions.Runtime.Hosting;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Functions.Runtime.Kafka;

/// <summary>
/// Turns consumed messages into the value of a Kafka trigger parameter, the types the official
/// host hands an isolated worker: <c>string</c>, <c>byte[]</c> or a JSON-deserialized POCO per
/// message; with <c>IsBatched</c> an array (<c>T[]</c>; <c>IReadOnlyList&lt;T&gt;</c> also binds here).
/// The message's metadata goes to <see cref="Microsoft.Azure.Functions.Worker.BindingContext.BindingData"/>
/// under the official binding's names (<see cref="BindingData"/>).
/// </summary>
internal sealed class KafkaMessageBinder
{
    private readonly Type _elementType;
    private readonly Func<byte[], object> _decode;

    public KafkaMessageBinder(FunctionDescriptor function, bool isBatched, JsonSerializerOptions json)
    {
        var parameterType = function.TriggerParameter.ParameterType;
        IsBatched = isBatched;
        _elementType = isBatched ? ElementTypeOf(parameterType, function.Name) : parameterType;
        var valueType = _elementType;
        _decode = valueType == typeof(byte[]) ? bytes => bytes
            : valueType == typeof(string) ? bytes => Encoding.UTF8.GetString(bytes)
            : bytes => JsonSerializer.Deserialize(bytes, valueType, json)
                ?? throw new JsonException($"The message is JSON null, not a {valueType.Name}.");
    }

    public bool IsBatched { get; }

    /// <summary>Decodes one message; throws when it cannot be decoded (a poison message).</summary>
    public object Decode(ConsumeResult<byte[], byte[]> result) => _decode(result.Message.Value ?? []);

    public object BuildArgument(IReadOnlyList<object> decoded)
    {
        if (!IsBatched)
        {
            return decoded[0];
        }

        var array = Array.CreateInstance(_elementType, decoded.Count);
        for (var i = 0; i < decoded.Count; i++)
        {
            array.SetValue(decoded[i], i);
        }

        return array;
    }

    /// <summary>
    /// Trigger metadata as the official Kafka binding names it: <c>Topic</c>, <c>Partition</c>,
    /// <c>Offset</c>, <c>Timestamp</c>, <c>Key</c>, <c>ConsumerGroup</c>, <c>Headers</c> for one message;
    /// the same names with <c>Array</c> appended, one element per message, for a batch.
    /// </summary>
    public static IReadOnlyDictionary<string, object?> BindingData(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, string consumerGroup, bool batched)
    {
        var data = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        if (!batched)
        {
            var r = records[0];
            data["Topic"] = r.Topic;
            data["Partition"] = r.Partition.Value;
            data["Offset"] = r.Offset.Value;
            data["Timestamp"] = r.Message.Timestamp.UtcDateTime;
            data["Key"] = KeyOf(r);
            data["ConsumerGroup"] = consumerGroup;
            data["Headers"] = HeadersOf(r);
            return data;
        }

        var n = records.Count;
        var topics = new string[n];
        var partitions = new int[n];
        var offsets = new long[n];
        var timestamps = new DateTime[n];
        var keys = new string?[n];
        var groups = new string[n];
        var headers = new KafkaHeader[n][];
        for (var i = 0; i < n; i++)
        {
            var r = records[i];
            topics[i] = r.Topic;
            partitions[i] = r.Partition.Value;
            offsets[i] = r.Offset.Value;
            timestamps[i] = r.Message.Timestamp.UtcDateTime;
            keys[i] = KeyOf(r);
            groups[i] = consumerGroup;
            headers[i] = HeadersOf(r);
        }

        data["TopicArray"] = topics;
        data["PartitionArray"] = partitions;
        data["OffsetArray"] = offsets;
        data["TimestampArray"] = timestamps;
        data["KeyArray"] = keys;
        data["ConsumerGroupArray"] = groups;
        data["HeadersArray"] = headers;
        return data;
    }

    private static string? KeyOf(ConsumeResult<byte[], byte[]> r) => r.Message.Key is null ? null : Encoding.UTF8.GetString(r.Message.Key);

    private static KafkaHeader[] HeadersOf(ConsumeResult<byte[], byte[]> r)
    {
        var headers = r.Message.Headers;
        if (headers is null || headers.Count == 0)
        {
            return [];
        }

        var result = new KafkaHeader[headers.Count];
        for (var i = 0; i < headers.Count; i++)
        {
            result[i] = new KafkaHeader(headers[i].Key, headers[i].GetValueBytes());
        }

        return result;
    }

    private static Type ElementTypeOf(Type type, string function)
    {
        if (type.IsArray && type != typeof(byte[]))
        {
            return type.GetElementType()!;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is var definition &&
            (definition == typeof(IReadOnlyList<>) || definition == typeof(IReadOnlyCollection<>) || definition == typeof(IEnumerable<>)))
        {
            return type.GetGenericArguments()[0];
        }

        throw new InvalidOperationException(
            $"Function '{function}': a batched Kafka trigger parameter must be an array (T[], string[], byte[][]), not {type.Name}.");
    }
}
