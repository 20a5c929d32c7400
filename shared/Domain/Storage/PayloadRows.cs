using Npgsql;
using NpgsqlTypes;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Storage;

/// <summary>
/// The <c>payload</c> insert's columns as array parameters, written once for both writers: the
/// readings' statement (accepted payloads, <see cref="RawReadingStore"/>) and the error ledger
/// (refused ones, <see cref="PayloadLedgerStore"/>).
/// </summary>
internal static class PayloadRows
{
    /// <summary>The payload columns every writer fills, in <see cref="Select"/>'s order.</summary>
    public const string Columns = "id, received_at, door, device_id, source, format, decoder_version, size_bytes, sha256, content, reading_count";

    /// <summary><c>select … from unnest(…)</c> of the payload columns, its parameters numbered from <paramref name="first"/>.</summary>
    public static string Select(int first) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"""
            select * from unnest(${first}::uuid[], ${first + 1}::timestamptz[], ${first + 2}::text[], ${first + 3}::text[], ${first + 4}::text[], ${first + 5}::text[],
                                 ${first + 6}::int[], ${first + 7}::int[], ${first + 8}::text[], ${first + 9}::bytea[], ${first + 10}::int[])
            """);

    /// <summary>
    /// The payloads of a batch of readings: those a message carried in full, then those only
    /// referred to by id (a later message of a payload whose first one is in another batch): a row
    /// of id and receive time, completed when the first message's batch writes.
    /// </summary>
    public static void Add(NpgsqlParameterCollection parameters, IReadOnlyCollection<PayloadInfo> full, IReadOnlyCollection<(Guid Id, DateTime ReceivedAt)> referenced)
    {
        T?[] Column<T>(Func<PayloadInfo, T?> ofFull) => [.. full.Select(ofFull), .. Enumerable.Repeat(default(T), referenced.Count)];
        Add(parameters, full.Select(p => p.Id).Concat(referenced.Select(r => r.Id)).ToArray(), NpgsqlDbType.Uuid);
        Add(parameters, full.Select(p => p.ReceivedAt.UtcDateTime).Concat(referenced.Select(r => r.ReceivedAt)).ToArray(), NpgsqlDbType.TimestampTz);
        Add(parameters, Column(p => p.Door), NpgsqlDbType.Text);
        Add(parameters, Column(p => p.DeviceId), NpgsqlDbType.Text);
        Add(parameters, Column(p => p.Source), NpgsqlDbType.Text);
        Add(parameters, Column(p => p.Format), NpgsqlDbType.Text);
        Add(parameters, Column(p => (int?)p.DecoderVersion), NpgsqlDbType.Integer);
        Add(parameters, Column(p => (int?)p.SizeBytes), NpgsqlDbType.Integer);
        Add(parameters, Column(p => p.Sha256), NpgsqlDbType.Text);
        Add(parameters, Column(p => p.Content), NpgsqlDbType.Bytea);
        Add(parameters, full.Select(p => p.ReadingCount).Concat(Enumerable.Repeat(0, referenced.Count)).ToArray(), NpgsqlDbType.Integer);
    }

    public static void Add(NpgsqlParameterCollection parameters, IReadOnlyCollection<IngestRefusal> refusals)
    {
        Add(parameters, refusals.Select(r => r.PayloadId).ToArray(), NpgsqlDbType.Uuid);
        Add(parameters, refusals.Select(r => r.ReceivedAt.UtcDateTime).ToArray(), NpgsqlDbType.TimestampTz);
        Add(parameters, refusals.Select(r => r.Door).ToArray(), NpgsqlDbType.Text);
        Add(parameters, refusals.Select(r => r.DeviceId).ToArray(), NpgsqlDbType.Text);
        Add(parameters, refusals.Select(r => r.Source).ToArray(), NpgsqlDbType.Text);
        Add(parameters, refusals.Select(r => r.Format).ToArray(), NpgsqlDbType.Text);
        Add(parameters, refusals.Select(r => r.DecoderVersion).ToArray(), NpgsqlDbType.Integer);
        Add(parameters, refusals.Select(r => r.SizeBytes).ToArray(), NpgsqlDbType.Integer);
        Add(parameters, refusals.Select(r => r.Sha256).ToArray(), NpgsqlDbType.Text);
        Add(parameters, refusals.Select(r => r.Content).ToArray(), NpgsqlDbType.Bytea);
        Add(parameters, refusals.Select(_ => 0).ToArray(), NpgsqlDbType.Integer);
    }

    public static void Add(NpgsqlParameterCollection parameters, object value, NpgsqlDbType type) =>
        parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Array | type });
}
