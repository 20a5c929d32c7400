# One image for every role; each Kubernetes Deployment enables its functions with
# AzureFunctionsJobHost__functions__N (see keda/).
#   docker build -t sensorpipeline:latest .                                   our portable host (default)
#   docker build --target official -t sensorpipeline-official:latest .        the official Functions host
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# npm fetches the dashboard's chart library (uPlot) at build time; the runtime image needs no Node.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig host.json ./
COPY shared/ shared/
COPY functions/ functions/
RUN dotnet publish functions/SensorPipeline.Functions.csproj -c Release -o /app

# The same functions under the official Azure Functions host: the build carries the host's Kafka
# extension (-p:FunctionsKafkaHostExtension=true needs a NuGet feed that serves
# Microsoft.Azure.WebJobs.Extensions.Kafka), and the host starts SensorPipeline.Functions as its
# isolated worker (worker.config.json). Not built on this project's machines (no Docker, and that
# package is not served there).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build-official
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig host.json ./
COPY shared/ shared/
COPY functions/ functions/
RUN dotnet publish functions/SensorPipeline.Functions.csproj -c Release -p:FunctionsKafkaHostExtension=true -o /home/site/wwwroot

FROM mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0 AS official
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsasl2-2 \
 && rm -rf /var/lib/apt/lists/*
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=dotnet-isolated \
    ASPNETCORE_URLS=http://+:8080
COPY --from=build-official /home/site/wwwroot /home/site/wwwroot
EXPOSE 8080

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# librdkafka as shipped by Confluent.Kafka needs libsasl2 (otherwise it falls back to another build).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsasl2-2 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build /app ./
ENV ASPNETCORE_ENVIRONMENT=Production \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
USER 10001:10001
EXPOSE 8080
# No HEALTHCHECK: Kubernetes probes /health/live and /health/ready. SIGTERM drains HTTP, lets the
# in-flight Kafka batches finish or abandons them uncommitted, and leaves the consumer groups.
ENTRYPOINT ["dotnet", "SensorPipeline.Functions.dll", "start", "--port", "8080"]
