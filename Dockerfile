# Multi-stage build: the SDK image restores and publishes, the runtime image only runs the result.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src

# The platform being built for (BuildKit sets it): only its ONNX Runtime native library goes into the image, instead of
# those of every platform the package carries (about 270 MB).
ARG TARGETARCH

# Project files first, so that source edits do not invalidate the restored-packages layer.
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
# COPY flattens globs, so each project file goes back into its folder (folder name = project name).
COPY src/*/*.csproj ./
RUN for project in *.csproj; do mkdir -p "src/${project%.csproj}" && mv "$project" "src/${project%.csproj}/"; done \
 && dotnet restore src/ConversationService/ConversationService.csproj ${TARGETARCH:+-a "$TARGETARCH"}

COPY src/ src/
RUN dotnet publish src/ConversationService/ConversationService.csproj -c Release --no-restore ${TARGETARCH:+-a "$TARGETARCH"} \
    -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./

# Production unless told otherwise: the service then refuses to start without Auth:ApiKeys.
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_ENVIRONMENT=Production \
    DOTNET_NOLOGO=1
EXPOSE 8080

# The .NET images ship a non-root "app" user; APP_UID is its numeric id.
USER $APP_UID

# No curl in the runtime image: bash's /dev/tcp is enough to ask /health/ready for a 200.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=6 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health/ready HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r status <&3 && [[ $status == *' 200 '* ]]"]

ENTRYPOINT ["dotnet", "ConversationService.dll"]
