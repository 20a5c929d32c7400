using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using SensorPipeline.Functions.Runtime.Hosting;

namespace SensorPipeline.Functions.Runtime.Kafka;

/// <summary>Turns consumed messages into the value of a Kafka trigger parameter.</summary>
internal sealed class KafkaMessageBinder
{
    private readonly Type _elementType;
    private readonly Func<ConsumeResult<byte[], byte[]>, object> _decode;

    public KafkaMessageBinder(FunctionDescriptor function, bool isBatched, JsonSerializerOptions json)
    {
        var parameterType = function.TriggerParameter.ParameterType;
        IsBatched = isBatched;
        _elementType = isBatched ? ElementTypeOf(parameterType, function.Name) : parameterType;
        var (valueType, isRecord) = _elementType.IsGenericType && _elementType.GetGenericTypeDefinition() == typeof(KafkaRecord<>)
            ? (_elementType.GetGenericArguments()[0], true)
            : (_elementType, false);
        Func<byte[], object> decodeValue = valueType == typeof(byte[]) ? bytes => bytes
            : valueType == typeof(string) ? bytes => Encoding.UTF8.GetString(bytes)
            : bytes => JsonSerializer.Deserialize(bytes, valueType, json)
                ?? throw new JsonException($"The message is JSON null, not a {valueType.Name}.");
        if (isRecord)
        {
            // A delegate made once per function, not reflection per message.
            var create = (Func<ConsumeResult<byte[], byte[]>, object, object>)typeof(KafkaMessageBinder)
                .GetMethod(nameof(CreateRecord), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(valueType)
                .CreateDelegate(typeof(Func<ConsumeResult<byte[], byte[]>, object, object>));
            _decode = result => create(result, decodeValue(result.Message.Value ?? []));
        }
        else
        {
            _decode = result => decodeValue(result.Message.Value ?? []);
        }
    }

    public bool IsBatched { get; }

    /// <summary>Decodes one message; throws when it cannot be decoded (a poison message).</summary>
    public object Decode(ConsumeResult<byte[], byte[]> result) => _decode(result);

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

    private static object CreateRecord<T>(ConsumeResult<byte[], byte[]> result, object value) => new KafkaRecord<T>(
        result.Topic,
        result.Partition.Value,
        result.Offset.Value,
        result.Message.Timestamp.UtcDateTime == DateTime.UnixEpoch ? DateTimeOffset.UtcNow : new DateTimeOffset(result.Message.Timestamp.UtcDateTime),
        result.Message.Key is null ? null : Encoding.UTF8.GetString(result.Message.Key),
        (T)value,
        HeadersOf(result.Message.Headers));

    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>(StringComparer.Ordinal);

    private static IReadOnlyDictionary<string, string> HeadersOf(Headers? headers)
    {
        if (headers is null || headers.Count == 0)
        {
            return NoHeaders;
        }

        var map = new Dictionary<string, string>(headers.Count, StringComparer.Ordinal);

        foreach (var header in headers)
        {
            map[header.Key] = Encoding.UTF8.GetString(header.GetValueBytes() ?? []);
        }

        return map;
    }

    private static Type ElementTypeOf(Type type, string function)
    {
        if (type.IsArray)
        {
            return type.GetElementType()!;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is var definition &&
            (definition == typeof(IReadOnlyList<>) || definition == typeof(IReadOnlyCollection<>) || definition == typeof(IEnumerable<>)))
        {
            return type.GetGenericArguments()[0];
        }

        throw new InvalidOperationException(
            $"Function '{function}': a batched Kafka trigger parameter must be T[] or IReadOnlyList<T>, not {type.Name}.");
    }
}
