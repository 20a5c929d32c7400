using System.Text.Json;

namespace SensorPipeline.Domain.Ingest;

/// <summary>The shared first steps of reading a small JSON object body: valid JSON, an object, known fields only.</summary>
internal static class JsonObjectInput
{
    /// <summary>
    /// Parses <paramref name="body"/> as one JSON object. Returns null (with a body-level error) when
    /// it is not JSON or not an object; otherwise the document, with an error per unknown field.
    /// </summary>
    public static JsonDocument? Parse(ReadOnlyMemory<byte> body, IReadOnlySet<string> known, string example, List<ReadingError> errors)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException e)
        {
            errors.Add(new ReadingError(null, null, $"The body is not valid JSON: {e.Message}"));
            return null;
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            errors.Add(new ReadingError(null, null, $"The body must be an object: {example}."));
            return null;
        }

        foreach (var property in document.RootElement.EnumerateObject().Where(p => !known.Contains(p.Name)))
        {
            errors.Add(new ReadingError(null, property.Name, $"Unknown field. Allowed: {string.Join(", ", known)}."));
        }

        return document;
    }
}
