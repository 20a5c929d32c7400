using System.Text;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// Reads Kafka trigger metadata from <see cref="FunctionContext.BindingContext"/>: our host puts
/// typed values there (<see cref="KafkaHeader"/> arrays); the official host passes JSON text
/// (headers as <c>{"Key":…,"Value":base64}</c>). Both are read; a host that sends no headers
/// gives nulls.
/// </summary>
public static class KafkaTriggerMetadata
{
    /// <summary>For each message of a batch, the last value of header <paramref name="name"/> as UTF-8 text, or null.</summary>
    public static string?[] HeaderValues(FunctionContext context, string name, int count)
    {
        ArgumentNullException.ThrowIfNull(context);
        var result = new string?[count];
        if (!context.BindingContext.BindingData.TryGetValue("HeadersArray", out var headers) || headers is null)
        {
            return result;
        }

        switch (headers)
        {
            case KafkaHeader[][] typed:
                for (var i = 0; i < Math.Min(count, typed.Length); i++)
                {
                    result[i] = LastValue(typed[i], name);
                }

                break;
            case string json:
                try
                {
                    var parsed = JsonSerializer.Deserialize<KafkaHeader[][]>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web));
                    for (var i = 0; parsed is not null && i < Math.Min(count, parsed.Length); i++)
                    {
                        result[i] = LastValue(parsed[i] ?? [], name);
                    }
                }
                catch (JsonException)
                {
                    // Metadata in a shape we do not know: no headers rather than a failed batch.
                }

                break;
        }

        return result;
    }

    private static string? LastValue(KafkaHeader[] headers, string name)
    {
        for (var i = headers.Length - 1; i >= 0; i--)
        {
            if (string.Equals(headers[i].Key, name, StringComparison.Ordinal) && headers[i].Value is { } value)
            {
                return Encoding.UTF8.GetString(value);
            }
        }

        return null;
    }
}
