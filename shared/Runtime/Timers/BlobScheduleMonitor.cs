using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;

namespace SensorPipeline.Runtime.Timers;

/// <summary>
/// Timer schedule status in Azure Storage, as the Functions host keeps it: a status blob per timer
/// (<c>timers/{hostId}/{timer}/status</c> in container <c>azure-webjobs-hosts</c>) beside a lock
/// blob whose lease serializes the replicas' claims. Use with <c>AzureWebJobsStorage</c>
/// (<c>UseDevelopmentStorage=true</c> is Azurite).
/// </summary>
public sealed class BlobScheduleMonitor(BlobServiceClient service, string hostId) : IScheduleMonitor
{
    public const string ContainerName = "azure-webjobs-hosts";
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(15);
    private readonly BlobContainerClient _container = service.GetBlobContainerClient(ContainerName);
    private int _created;

    private sealed record Status(DateTimeOffset Last, DateTimeOffset LastUpdated, string ClaimedBy);

    public async Task<DateTimeOffset?> GetLastAsync(string timer, CancellationToken cancellationToken)
    {
        await EnsureAsync(timer, cancellationToken);
        return (await ReadAsync(timer, cancellationToken))?.Last;
    }

    public async Task<bool> TryClaimAsync(string timer, DateTimeOffset occurrence, CancellationToken cancellationToken)
    {
        await EnsureAsync(timer, cancellationToken);
        var lease = _container.GetBlobClient(LockBlob(timer)).GetBlobLeaseClient();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await lease.AcquireAsync(LeaseDuration, cancellationToken: cancellationToken);
                break;
            }
            catch (RequestFailedException e) when (e.Status == 409 && attempt < 50)
            {
                // Another replica is claiming; it will be done in a moment.
                await Task.Delay(100, cancellationToken);
            }
        }

        try
        {
            var status = await ReadAsync(timer, cancellationToken);
            if (status is not null && status.Last >= occurrence)
            {
                return false;
            }

            var json = JsonSerializer.SerializeToUtf8Bytes(new Status(occurrence, DateTimeOffset.UtcNow, $"{Environment.MachineName}/{Environment.ProcessId}"));
            await _container.GetBlobClient(StatusBlob(timer)).UploadAsync(new BinaryData(json), overwrite: true, cancellationToken);
            return true;
        }
        finally
        {
            await lease.ReleaseAsync(cancellationToken: CancellationToken.None);
        }
    }

    private async Task<Status?> ReadAsync(string timer, CancellationToken cancellationToken)
    {
        try
        {
            var content = await _container.GetBlobClient(StatusBlob(timer)).DownloadContentAsync(cancellationToken);
            return JsonSerializer.Deserialize<Status>(content.Value.Content.ToMemory().Span);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private async Task EnsureAsync(string timer, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _created) == 0)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            Volatile.Write(ref _created, 1);
        }

        var lockBlob = _container.GetBlobClient(LockBlob(timer));
        try
        {
            await lockBlob.UploadAsync(new BinaryData([]), overwrite: false, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            // Exists already (possibly leased by another replica).
        }
    }

    private string StatusBlob(string timer) => $"timers/{hostId}/{timer}/status";

    private string LockBlob(string timer) => $"locks/{hostId}/{timer}/lease";
}
