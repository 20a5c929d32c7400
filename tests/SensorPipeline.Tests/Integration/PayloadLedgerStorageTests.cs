using Npgsql;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>The readings' statement writes their payload rows: content filled by whichever message carries it, replays idempotent, conflicting values counted.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class PayloadLedgerStorageTests(TestServers servers) : IAsyncLifetime
{
    private NpgsqlDataSource _db = null!;

    public async Task InitializeAsync()
    {
        _db = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("ledger"));
        await new Migrator(_db).MigrateAsync(null, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private async Task<string?> TextAsync(string sql)
    {
        await using var command = _db.CreateCommand(sql);
        return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static PayloadInfo Payload(Guid id, int count) => new()
    {
        Id = id, ReceivedAt = T0, Door = "http", Format = "legacy", DecoderVersion = 1, SizeBytes = 3, Sha256 = new string('0', 64), ReadingCount = count,
    };

    private static RawReadingMessage Reading(string sensor, int minute, double value, string? unit, PayloadInfo? payload) =>
        new() { SensorId = sensor, RecordedAt = T0.AddMinutes(minute), Value = value, ReceivedAt = T0, Unit = unit, Payload = payload };

    [Fact]
    public async Task A_later_message_of_a_payload_stored_first_writes_its_row_which_the_first_completes_and_replays_write_nothing_twice()
    {
        var store = new RawReadingStore(_db);
        var id = Guid.CreateVersion7();
        var payload = Payload(id, 2);
        // A later message carries the payload's id only; the first one the payload in full.
        var second = Reading("lp-b", 0, 7135, ReadingUnits.HundredthsFahrenheit, null) with { PayloadId = id };
        var first = Reading("lp-a", 0, 7000, ReadingUnits.HundredthsFahrenheit, payload with { Content = "abc"u8.ToArray() });

        await store.InsertAsync([second], CancellationToken.None);
        Assert.Equal("||0|true", await TextAsync($"select coalesce(door, '') || '|' || coalesce(format, '') || '|' || reading_count || '|' || accepted from payload where id = '{id}'"));
        await store.InsertAsync([first], CancellationToken.None);
        await store.InsertAsync([first, second], CancellationToken.None);

        Assert.Equal("abc|2|1|http|legacy|3", await TextAsync($"select convert_from(content, 'UTF8') || '|' || reading_count || '|' || count(*) over () || '|' || door || '|' || format || '|' || size_bytes from payload where id = '{id}'"));
        Assert.Equal("2", await TextAsync($"select count(*) from raw_data where payload_id = '{id}' and unit = 'cdegF'"));
    }

    [Fact]
    public async Task The_same_reading_in_another_format_with_another_value_is_counted_and_the_first_stays()
    {
        var store = new RawReadingStore(_db);
        long conflicting = 0;
        void Count(long n) => conflicting += n;
        await store.InsertAsync([Reading("lc", 0, 20.0, null, Payload(Guid.CreateVersion7(), 1))], Count, CancellationToken.None);

        // 7135 hundredths °F is 21.86 °C: not the stored 20.0 °C. 6800 is exactly 20 °C.
        await store.InsertAsync([Reading("lc", 0, 7135, ReadingUnits.HundredthsFahrenheit, Payload(Guid.CreateVersion7(), 1))], Count, CancellationToken.None);
        Assert.Equal(1, conflicting);
        await store.InsertAsync([Reading("lc", 0, 6800, ReadingUnits.HundredthsFahrenheit, Payload(Guid.CreateVersion7(), 1))], Count, CancellationToken.None);
        Assert.Equal(1, conflicting);

        Assert.Equal("20|degC", await TextAsync("select raw_value || '|' || unit from raw_data where sensor_id = 'lc'"));
        Assert.Equal("3", await TextAsync("select count(*) from payload"));
    }
}
