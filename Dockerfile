# The runbook worker, for docker-compose.yml.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
# the worker starts from this prebuilt workflow bundle instead of bundling at every start
RUN npx tsx scripts/bundle-workflows.ts
CMD ["npx", "tsx", "src/worker.ts"]
