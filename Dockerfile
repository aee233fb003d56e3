# One image for the operator and the runner: `switchyard-operator` (the entry point) and `switchyard-runner` (the
# command of the CronJobs, watcher Deployments and cleanup Jobs the operator creates).
#   docker build -t switchyard:0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" --build-arg SOURCE=<repository URL> .
# test/e2e/image/ runs these steps outside a container and starts both entry points: keep to what it interprets
# (ARG, FROM, WORKDIR, COPY [--from], RUN [--mount=type=cache], ENV, USER, EXPOSE, LABEL, ENTRYPOINT; RUN with paths
# relative to WORKDIR).

# Keep in step with the devDependency "node" in package.json.
ARG NODE_VERSION=24.21.0

# Production dependencies, without what never runs: type declarations, TypeScript sources, source maps, tests, and
# npm's own .bin links and hidden lockfile.
FROM node:${NODE_VERSION}-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# npm's cache is a cache mount, in no layer. --ignore-scripts: no production dependency needs an install script.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && find node_modules -type d \( -name test -o -name tests -o -name __tests__ \) -prune -exec rm -rf {} + \
    && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' \) -delete \
    && find node_modules -type d -empty -delete \
    && rm -rf node_modules/.bin node_modules/.package-lock.json

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the "node" devDependency would only fetch a second Node.js.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator ./operator
RUN npm run build
# The entry points (with the operator's heap settings) find dist/ beside their own folder, so they work wherever /app is.
COPY bin ./bin

# The Debian image the Node.js image is built on, with only the node binary added: no npm, npx, corepack or yarn, and
# no apt lists (Debian's image ships none). Nothing runs in this stage; everything comes from the stages above.
FROM debian:bookworm-slim
ENV NODE_ENV=production PATH=/app/bin:$PATH
WORKDIR /app
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# Owned by root and not writable by the runtime user: the root filesystem can be mounted read-only.
# package.json stays for its "type": "module", which makes dist/*.js ES modules. dist/ keeps its source maps: the
# entry points run node --enable-source-maps, so stack traces name operator/*.ts lines.
COPY --from=build /app/package.json ./package.json
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# UID and GID 1000 need no account in the image; by number, the kubelet can check runAsNonRoot.
USER 1000:1000
EXPOSE 8080
# OCI annotations (github.com/opencontainers/image-spec, annotations.md). Title, description and licenses follow
# package.json; VERSION keeps in step with its "version". REVISION (the commit) and SOURCE (the repository's URL)
# stay empty unless the build passes them. Docker records the build time itself (`docker inspect -f '{{.Created}}'`).
ARG VERSION=0.1.0
ARG REVISION
ARG SOURCE
LABEL org.opencontainers.image.title="switchyard" \
      org.opencontainers.image.description="Kubernetes operator that schedules an integration hub's cart and warehouse services as CronJobs and watcher Deployments" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.source="$SOURCE"
# switchyard_build_info's revision label.
ENV SWITCHYARD_REVISION="$REVISION"
ENTRYPOINT ["switchyard-operator"]
