using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace SensorPipeline.Functions.Http;

/// <summary>
/// The one way an HTTP function reads a JSON request body: the content type checked
/// (<c>application/json</c> or <c>application/*+json</c>), the body read into a pooled buffer
/// that the caller disposes (parsers copy out what they keep).
/// </summary>
public sealed class JsonBody : IDisposable
{
    private byte[]? _buffer;
    private readonly int _length;

    private JsonBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        _length = length;
    }

    /// <summary>The body's bytes, valid until disposed.</summary>
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

    public static bool IsJson(string? contentType) =>
        contentType is not null &&
        (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) ||
         (contentType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && contentType.Contains("+json", StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// The body, or null when the request is not JSON (answer 415). A body over the server's limit
    /// throws <see cref="BadHttpRequestException"/> with status 413.
    /// </summary>
    public static async Task<JsonBody?> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsJson(request.ContentType))
        {
            return null;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is > 0 and <= 4 * 1024 * 1024 ? (int)request.ContentLength + 1 : 16 * 1024);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    return new JsonBody(buffer, length);
                }

                length += read;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>
    /// A small JSON object whose fields are all optional strings (<paramref name="names"/>): true with
    /// their values by name, or false with the 400 to answer — not JSON, not an object (with
    /// <paramref name="example"/>), or a field that is unknown or not a string (named).
    /// </summary>
    public static bool TryStringFields(
        ReadOnlyMemory<byte> body,
        string example,
        [NotNullWhen(true)] out Dictionary<string, string?>? fields,
        [NotNullWhen(false)] out IResult? problem,
        params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        fields = null;
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                problem = Problems.Message(StatusCodes.Status400BadRequest, null, $"The body must be a JSON object: {example}.");
                return false;
            }

            var values = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (!names.Contains(property.Name, StringComparer.Ordinal) || property.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                {
                    problem = Problems.Message(StatusCodes.Status400BadRequest, property.Name,
                        $"Unknown field or wrong type ({string.Join(", ", names.Select(n => n + ": string"))}).");
                    return false;
                }

                values[property.Name] = property.Value.GetString();
            }

            fields = values;
            problem = null;
            return true;
        }
        catch (JsonException e)
        {
            problem = Problems.Message(StatusCodes.Status400BadRequest, null, "The body is not valid JSON: " + e.Message);
            return false;
        }
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
