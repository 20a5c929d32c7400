using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Runtime.Kafka;

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
    /// the same names with <c>Array</c> appended, one element per message, for a batch. Each entry
    /// is computed when first read: a function that reads only the headers pays only for them.
    /// </summary>
    public static IReadOnlyDictionary<string, object?> BindingData(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, string consumerGroup, bool batched) =>
        new KafkaBindingData(records, consumerGroup, batched);

    private sealed class KafkaBindingData(IReadOnlyList<ConsumeResult<byte[], byte[]>> records, string consumerGroup, bool batched)
        : IReadOnlyDictionary<string, object?>
    {
        private static readonly string[] Names = ["Topic", "Partition", "Offset", "Timestamp", "Key", "ConsumerGroup", "Headers"];
        private readonly Dictionary<string, object?> _computed = new(StringComparer.OrdinalIgnoreCase);

        public IEnumerable<string> Keys => batched ? Names.Select(n => n + "Array") : Names;

        public IEnumerable<object?> Values => Keys.Select(k => this[k]);

        public int Count => Names.Length;

        public object? this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

        public bool ContainsKey(string key) => Name(key) is not null;

        public bool TryGetValue(string key, out object? value)
        {
            if (_computed.TryGetValue(key, out value))
            {
                return true;
            }

            if (Name(key) is not { } name)
            {
                return false;
            }

            value = batched ? Array(name) : One(name, records[0]);
            _computed[key] = value;
            return true;
        }

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() =>
            Keys.Select(k => new KeyValuePair<string, object?>(k, this[k])).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        private string? Name(string key)
        {
            var name = batched
                ? key.EndsWith("Array", StringComparison.OrdinalIgnoreCase) ? key[..^5] : null
                : key;
            return name is null ? null : Names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
        }

        private object? One(string name, ConsumeResult<byte[], byte[]> r) => name switch
        {
            "Topic" => r.Topic,
            "Partition" => r.Partition.Value,
            "Offset" => r.Offset.Value,
            "Timestamp" => r.Message.Timestamp.UtcDateTime,
            "Key" => KeyOf(r),
            "ConsumerGroup" => consumerGroup,
            _ => HeadersOf(r),
        };

        private object Array(string name) => name switch
        {
            "Topic" => records.Select(r => r.Topic).ToArray(),
            "Partition" => records.Select(r => r.Partition.Value).ToArray(),
            "Offset" => records.Select(r => r.Offset.Value).ToArray(),
            "Timestamp" => records.Select(r => r.Message.Timestamp.UtcDateTime).ToArray(),
            "Key" => records.Select(KeyOf).ToArray(),
            "ConsumerGroup" => records.Select(_ => consumerGroup).ToArray(),
            _ => records.Select(HeadersOf).ToArray(),
        };
    }

    private static string? KeyOf(ConsumeResult<byte[], byte[]> r) => r.Message.Key is null ? null : Encoding.UTF8.GetString(r.Message.Key);

    private static readonly KafkaHeader[] NoHeaders = [];

    private static KafkaHeader[] HeadersOf(ConsumeResult<byte[], byte[]> r)
    {
        var headers = r.Message.Headers;
        if (headers is null || headers.Count == 0)
        {
            return NoHeaders;
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
